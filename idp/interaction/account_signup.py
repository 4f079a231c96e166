"""Pages of the centre account creation: FINESS, e-mail and terms, confirmation, validation."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from idp.accounts import signup
from idp.extensions import db
from idp.interaction.pages import render_error
from idp.interaction.views import guard
from idp.models import Establishment

bp = Blueprint("signup", __name__, url_prefix="/creer-un-compte")
bp.before_request(guard)

TITLE = "Créer votre compte amelipro"
LINK_MESSAGES = {
    "used": "Ce lien a déjà été utilisé : votre adresse e-mail est validée.",
    "expired": "Ce lien de validation a expiré. Contactez l'assistance technique pour en "
               "recevoir un nouveau.",
    "unknown": "Ce lien de validation n'est pas valide. Vérifiez que vous avez copié le lien "
               "en entier.",
}


def _days() -> int:
    return current_app.config["IDP_SETTINGS"].provisional_password_ttl // 86400


@bp.route("/centre", methods=["GET", "POST"])
def finess():
    """Step 1: the FINESS of the centre, checked against the referential."""
    typed, errors = "", {}
    if request.method == "POST":
        typed = request.form.get("finess", "")[:20]
        try:
            establishment = signup.find_centre(typed)
        except signup.SignupError as exc:
            errors = {"finess": str(exc)}
        else:
            session["centre_signup"] = establishment.finess
            return redirect(url_for("signup.email"), 303)
    return render_template("account_signup_finess.html", title=TITLE, finess=typed,
                           errors=errors, login_url=url_for("interaction.login")), (
        400 if errors else 200)


@bp.route("/etablissement", methods=["GET", "POST"])
def email():
    """Step 2: the establishment found, the director's e-mail and the terms."""
    finess_value = session.get("centre_signup")
    establishment = db.session.get(Establishment, finess_value) if finess_value else None
    if establishment is None:
        return redirect(url_for("signup.finess"), 303)
    form, errors = {}, {}
    if request.method == "POST":
        form = request.form
        errors = signup.form_problems(form)
        if not errors:
            try:
                signup.create_centre_account(signup.find_centre(finess_value),
                                             signup.parse_email(form["email"]))
            except signup.SignupError as exc:
                errors = {"form": str(exc)}
            else:
                session.pop("centre_signup", None)
                session["centre_created"] = finess_value
                return redirect(url_for("signup.created"), 303)
    return render_template("account_signup_email.html", title=TITLE, establishment=establishment,
                           form=form, errors=errors,
                           restart_url=url_for("signup.finess")), 400 if errors else 200


@bp.get("/confirmation")
def created():
    """« Votre compte a bien été créé »: the letter goes to the establishment's address."""
    establishment = db.session.get(Establishment, session.get("centre_created") or "")
    if establishment is None:
        return redirect(url_for("signup.finess"), 303)
    address = ", ".join(establishment.address_lines())
    return render_template(
        "message.html", title="Confirmation de création de compte",
        message="Votre compte a bien été créé.",
        paragraphs=[f"Pour des raisons de sécurité, un mot de passe provisoire vous sera transmis "
                    f"par courrier postal à l'adresse : {address}.",
                    "À la réception de votre courrier, vous devez procéder à votre première "
                    f"connexion dans un délai de {_days()} jours : vous choisirez alors votre "
                    "mot de passe.",
                    "Un e-mail vient de vous être envoyé : cliquez sur « Valider l'adresse "
                    "e-mail » dans ce message.",
                    f"Si vous n'avez rien reçu dans un délai de {_days()} jours, contactez "
                    "l'assistance "
                    "technique amelipro au 0811 709 710."],
        link_url=url_for("interaction.login"), link_label="ACCÉDER À LA CONNEXION")


@bp.get("/valider/<token>")
def validate(token: str):
    """The link of the validation e-mail."""
    outcome = signup.validate_email(token)
    if outcome == "validated":
        return render_template("message.html", title="Adresse e-mail validée",
                               message="Votre adresse e-mail est validée.",
                               paragraphs=["Connectez-vous avec le N° FINESS et le mot de passe "
                                           "provisoire reçu par courrier."],
                               link_url=url_for("interaction.login"), link_label="ME CONNECTER")
    return render_error("Lien de validation", LINK_MESSAGES[outcome], 400)
