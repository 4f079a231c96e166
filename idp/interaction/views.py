"""The login and consent pages: they decide *how* the user authenticates.

They read a pending authorization request by its ticket, run an authenticator,
record the result in the session and hand back to ``/authorize/resume``.
"""

from __future__ import annotations

import time

from authlib.oauth2.rfc6749.util import scope_to_list
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from idp.authenticators import enabled
from idp.authenticators.base import LoginContext, Outcome
from idp.extensions import db
from idp.interaction import login_state
from idp.interaction.pages import render_error, service_unavailable
from idp.interaction.sessions import sessions_available
from idp.models import Account, Client, Consent
from idp.oauth import acr, claims
from idp.security import check_csrf

bp = Blueprint("interaction", __name__)


@bp.before_request
def guard():
    """Fail closed without sessions; check CSRF on every form post."""
    if getattr(session, "unavailable", False) or not sessions_available():
        return service_unavailable()
    if request.method == "POST":
        check_csrf()
    return None


def pending_or_error(ticket: str | None):
    """The pending authorization request of ``ticket``; 400 for an unknown or expired one."""
    entry = login_state.load_pending(ticket)
    if entry is None and ticket is not None:
        abort(400, description="ticket")
    return entry


def client_of(entry) -> Client | None:
    """The client that sent a pending authorization request."""
    if not entry:
        return None
    client_id = (entry["args"].get("client_id") or [None])[0]
    return db.session.scalar(db.select(Client).where(Client.client_id == client_id))


def _login_page(entry, identifier: str = "", errors=None, banner=None, status: int = 200):
    client = client_of(entry)
    methods = enabled(current_app)
    return render_template(
        "login.html", client_name=client.name if client else None, identifier=identifier,
        errors=errors or {}, banner=banner, card_enabled="cps" in methods,
        card_url=url_for("card.start", ticket=request.args.get("ticket")),
        forgot_url=url_for("interaction.forgot_password", ticket=request.args.get("ticket")),
        signup_url=url_for("interaction.signup")), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Identifier and password; on success, back to the authorization request."""
    # Imported here: the account pages import this module (for guard).
    from idp.interaction.account import after_password_login
    ticket = request.args.get("ticket")
    entry = pending_or_error(ticket)
    authenticator = enabled(current_app)["password"]
    if entry and not acr.satisfies(authenticator.acr, entry.get("required_acr")):
        return _stronger_login(ticket)
    if request.method == "GET":
        hint = (entry["args"].get("login_hint") or [""])[0] if entry else ""
        return _login_page(entry, identifier=hint[:254])
    context = LoginContext(ip=request.remote_addr, user_agent=request.user_agent.string)
    result = authenticator.verify(context, request.form)
    if not result.succeeded:
        if result.outcome is Outcome.UNAVAILABLE:
            return _login_page(entry, request.form.get("identifier", "")[:254],
                               errors={"form": result.message}, status=503)
        banner = result.message if result.outcome is Outcome.LOCKED else None
        errors = dict(result.field_errors)
        if result.message and not banner:
            errors["form"] = result.message
        return _login_page(entry, request.form.get("identifier", "")[:254], errors, banner,
                           result.http_status)
    held_back = after_password_login(result, ticket)
    if held_back is not None:
        return held_back
    login_state.establish_login(result)
    if entry is None:
        return redirect(landing_url(), 303)
    login_state.update_pending(ticket, login_at=time.time())
    return redirect(url_for("oauth.resume", ticket=ticket), 303)


def landing_url() -> str:
    """Where a login that no service asked for ends: the account page when the user came
    from it, else the « Vous êtes connecté » page."""
    if session.pop("login_for_account_page", False):
        return url_for("account.home")
    return url_for("interaction.signed_in")


def _stronger_login(ticket: str):
    """The service asked for more than a password can give: the card, if it is offered."""
    if "cps" in enabled(current_app):
        return redirect(url_for("card.start", ticket=ticket), 303)
    return render_error("Connexion par carte CPS requise",
                        "Ce service demande une connexion par carte CPS, qui n'est pas proposée "
                        "ici. Contactez l'assistance technique au 0811 709 710.", 403)


@bp.get("/connecte")
def signed_in():
    """Where a direct visit to the login page lands."""
    current = login_state.current_login()
    if current is None:
        return redirect(url_for("interaction.login"), 303)
    account = db.session.get(Account, current.account_id)
    return render_template(
        "message.html", title="Vous êtes connecté",
        message=f"Vous êtes connecté à amelipro en tant que {account.display_name}.",
        paragraphs=["Retournez sur le service que vous souhaitez utiliser."],
        link_url=url_for("logout.end_session"), link_label="ME DÉCONNECTER")


@bp.route("/consent", methods=["GET", "POST"])
def consent():
    """Ask a non first-party client's user to allow the requested scopes."""
    ticket = request.args.get("ticket")
    entry = pending_or_error(ticket)
    current = login_state.current_login()
    client = client_of(entry)
    if entry is None or current is None or client is None:
        return render_error("Demande expirée", "Votre demande a expiré. Retournez sur le service "
                            "pour recommencer.", 400)
    scope = client.get_allowed_scope((entry["args"].get("scope") or [""])[0])
    if request.method == "POST":
        decision = request.form.get("decision")
        if decision not in ("allow", "deny"):
            abort(400, description="decision")
        if decision == "allow":
            _remember_consent(current.account_id, client.client_id, scope)
            login_state.update_pending(ticket, consent_at=time.time())
        else:
            login_state.update_pending(ticket, consent_at=time.time(), denied=True)
        return redirect(url_for("oauth.resume", ticket=ticket), 303)
    account = db.session.get(Account, current.account_id)
    return render_template("consent.html", client_name=client.name,
                           scopes=claims.describe(scope), account_label=account.display_name)


def _remember_consent(account_id: int, client_id: str, scope: str) -> None:
    row = db.session.scalar(db.select(Consent).where(Consent.account_id == account_id,
                                                     Consent.client_id == client_id))
    if row is None:
        db.session.add(Consent(account_id=account_id, client_id=client_id, scope=scope))
    else:
        merged = dict.fromkeys([*(scope_to_list(row.scope) or []), *(scope_to_list(scope) or [])])
        row.scope = " ".join(merged)
    db.session.commit()


@bp.get("/mot-de-passe-oublie")
def forgot_password():
    """« Mot de passe oublié »: the reset by e-mail link, then back to the service's login."""
    # Kept in the session so that the page after the e-mail link can lead back to the
    # authorization request that was interrupted (checked there: it may have expired).
    session["reset_ticket"] = request.args.get("ticket", "")[:64]
    return redirect(url_for("reset.request_link"))


@bp.get("/creer-un-compte")
def signup():
    """« Créer un compte »: centre accounts by FINESS (professionals use their card)."""
    return redirect(url_for("signup.finess"))
