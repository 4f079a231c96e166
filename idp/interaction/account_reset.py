"""Pages of the password reset: identification, confirmation, the link's form."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from idp.accounts import links, reset
from idp.accounts.identifiers import normalise_email
from idp.interaction import login_state
from idp.interaction.pages import render_error
from idp.interaction.views import guard

bp = Blueprint("reset", __name__, url_prefix="/mot-de-passe-oublie")
bp.before_request(guard)

TITLE = "Réinitialiser votre mot de passe"
LINK_ERRORS = {
    "used": "Ce lien a déjà été utilisé. Si besoin, faites une nouvelle demande de "
            "réinitialisation.",
    "expired": "Ce lien a expiré (il est valable une heure). Faites une nouvelle demande de "
               "réinitialisation.",
    "unknown": "Ce lien n'est pas valide. Vérifiez que vous avez copié le lien en entier, ou "
               "faites une nouvelle demande.",
}


@bp.route("/demande", methods=["GET", "POST"])
def request_link():
    """« Mot de passe oublié »: identify by e-mail, or by N° Assurance Maladie or FINESS."""
    form, errors = {}, {}
    if request.method == "POST":
        form = {"email": request.form.get("email", "")[:254],
                "number": request.form.get("number", "")[:20]}
        try:
            account = reset.identify(form["email"], form["number"])
        except reset.ResetRequestError as exc:
            errors = {exc.field: str(exc)}
        else:
            reset.request_reset(account)
            # The address is shown back only when the user typed it (seed), whatever the
            # outcome: the page must not tell known from unknown identifiers.
            session["reset_shown"] = normalise_email(form["email"]) if form["email"] else None
            return redirect(url_for("reset.sent"), 303)
    return render_template("account_reset_request.html", title=TITLE, form=form, errors=errors,
                           login_url=url_for("interaction.login")), 400 if errors else 200


@bp.get("/envoye")
def sent():
    """The confirmation: the same page whether or not an e-mail left."""
    shown = session.get("reset_shown")
    first = (f"Si l'adresse {shown} correspond à un compte amelipro, un e-mail de "
             "réinitialisation vient de lui être envoyé." if shown else
             "Si ce numéro correspond à un compte amelipro, un e-mail de réinitialisation vient "
             "d'être envoyé à l'adresse e-mail associée au compte.")
    return render_template(
        "message.html", title=TITLE, message=first,
        paragraphs=["Cliquez sur le lien reçu pour choisir un nouveau mot de passe : il est "
                    "valable une heure et ne sert qu'une fois.",
                    "Vous n'avez rien reçu ? Vérifiez vos courriers indésirables, ou contactez "
                    "l'assistance technique au 0811 709 710."],
        link_url=url_for("interaction.login"), link_label="RETOUR À LA CONNEXION")


@bp.route(reset.RESET_PATH.removeprefix("/mot-de-passe-oublie") + "<token>",
          methods=["GET", "POST"])
def choose(token: str):
    """The link of the e-mail: choose the new password."""
    errors = {}
    if request.method == "POST":
        outcome, errors = reset.reset_with_token(token, request.form)
        if outcome == "done":
            return redirect(url_for("reset.done"), 303)
    else:
        outcome, _ = links.lookup(token, reset.RESET)
    if outcome in LINK_ERRORS:
        return render_error("Lien de réinitialisation", LINK_ERRORS[outcome], 400)
    return render_template("account_new_password.html", title=TITLE, errors=errors,
                           intro="Créez votre nouveau mot de passe."), 400 if errors else 200


@bp.get("/termine")
def done():
    """The new password is in force."""
    return render_template(
        "message.html", tone="success", title=TITLE,
        message="Votre nouveau mot de passe est pris en compte.",
        paragraphs=["Vos sessions ouvertes ont été fermées. Vous pouvez à présent vous "
                    "connecter avec votre nouveau mot de passe."],
        link_url=url_for("interaction.login", ticket=_interrupted_ticket()),
        link_label="ME CONNECTER")


def _interrupted_ticket() -> str | None:
    """The authorization request the user left for « Mot de passe oublié », if still pending."""
    ticket = session.get("reset_ticket")
    return ticket if login_state.load_pending(ticket) else None
