"""The card login pages: start page, challenge, proof post, mTLS entry, account creation.

The page's script asks ``/carte-cps/defi`` for a challenge, has the local card
agent sign it (the PIN goes from the page to the agent only) and posts the
certificate and signature back to ``/carte-cps``. Behind a TLS proxy that
verified a client certificate, ``/carte-cps/tls`` logs in with it instead.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from idp.accounts import notifications
from idp.accounts.audit import EVENT_LABELS
from idp.authenticators import enabled
from idp.authenticators.base import LoginContext, Outcome
from idp.cps import errors, mapping, proxy_header, signup
from idp.cps.identity import CardIdentity
from idp.extensions import db
from idp.interaction import login_state
from idp.interaction.pages import render_error
from idp.interaction.views import client_of, guard, landing_url, pending_or_error
from idp.models import Account
from idp.security import CSP

bp = Blueprint("card", __name__, url_prefix="/carte-cps")
bp.before_request(guard)

# A card holder has this long to fill the account creation form.
SIGNUP_TTL = 15 * 60
EXPIRED_SIGNUP = ("Votre demande de création de compte a expiré. Reconnectez-vous avec votre "
                  "carte CPS pour recommencer.")


def _authenticator():
    return enabled(current_app)["cps"]


def _settings():
    return current_app.config["IDP_SETTINGS"]


def _binding() -> str:
    """The random value tying challenges to this browser session."""
    if "cps_binding" not in session:
        session["cps_binding"] = secrets.token_urlsafe(32)
    return session["cps_binding"]


def _context(**state) -> LoginContext:
    return LoginContext(ip=request.remote_addr, user_agent=request.user_agent.string,
                        state=state)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _card_page(entry, ticket: str | None, error: str | None = None, status: int = 200):
    client = client_of(entry)
    body = render_template(
        "card_login.html", client_name=client.name if client else None, error=error,
        agent_url=_settings().cps_agent_url,
        challenge_url=url_for("card.challenge", ticket=ticket),
        verify_url=url_for("card.start", ticket=ticket),
        tls_url=url_for("card.tls", ticket=ticket) if _settings().trusted_proxies else None,
        login_url=url_for("interaction.login", ticket=ticket))
    # Only this page may call the local agent: widen connect-src here, nowhere else.
    csp = CSP + f"; connect-src 'self' {_origin(_settings().cps_agent_url)}"
    return body, status, {"Content-Security-Policy": csp}


@bp.route("", methods=["GET", "POST"])
def start():
    """The card login page; its POST carries the certificate and signature from the agent."""
    ticket = request.args.get("ticket")
    entry = pending_or_error(ticket)
    if request.method == "GET":
        _binding()
        return _card_page(entry, ticket)
    response = {k: request.form.get(k, "") for k in ("certificate", "signature", "challenge")}
    result = _authenticator().verify(_context(channel="agent", binding=_binding()), response)
    return _finish(result, entry, ticket)


@bp.post("/defi")
def challenge():
    """A fresh challenge for the card to sign (JSON)."""
    pending_or_error(request.args.get("ticket"))
    issued = _authenticator().begin(_context(binding=_binding()))
    return jsonify(challenge=issued.state["challenge"], expires_in=_settings().cps_challenge_ttl)


@bp.get("/tls")
def tls():
    """Log in with the client certificate a trusted TLS proxy verified."""
    ticket = request.args.get("ticket")
    entry = pending_or_error(ticket)
    settings = _settings()
    pem = proxy_header.forwarded_certificate(
        request.environ, settings.cps_client_cert_header,
        proxy_header.parse_networks(settings.trusted_proxies))
    if pem is None:
        return _card_page(entry, ticket, errors.NO_CERTIFICATE[1], 400)
    result = _authenticator().verify(_context(channel="mtls"), {"certificate": pem})
    return _finish(result, entry, ticket)


def _finish(result, entry, ticket):
    """Turn a card login result into a login, an account creation or the page with a message."""
    if result.succeeded:
        login_state.establish_login(result)
        notifications.login_notice(db.session.get(Account, result.account_id),
                                   EVENT_LABELS["card_login"])
        target = landing_url()
        if entry is not None:
            login_state.update_pending(ticket, login_at=time.time())
            target = url_for("oauth.resume", ticket=ticket)
        if result.unlocked:
            return render_template("message.html", tone="success", title="Compte débloqué",
                                   message=result.message,
                                   link_url=target, link_label="CONTINUER")
        return redirect(target, 303)
    if result.outcome is Outcome.FAILURE and result.identity is not None:
        session["cps_signup"] = {**dataclasses.asdict(result.identity), "at": time.time()}
        return redirect(url_for("card.create_account", ticket=ticket), 303)
    if result.outcome is Outcome.DISABLED:
        account = db.session.get(Account, result.account_id)
        if account is not None and mapping.awaiting_validation(account):
            signup.send_validation_mail(account)
    return _card_page(entry, ticket, result.message, result.http_status)


def _signup_identity() -> CardIdentity | None:
    data = dict(session.get("cps_signup") or {})
    if not data or time.time() - data.pop("at", 0) > SIGNUP_TTL:
        return None
    return CardIdentity(**data)


@bp.route("/creer-compte", methods=["GET", "POST"])
def create_account():
    """« Créer votre compte amelipro », pre-filled from the card certificate."""
    ticket = request.args.get("ticket")
    identity = _signup_identity()
    if identity is None:
        return render_error("Demande expirée", EXPIRED_SIGNUP, 400)
    form, problems = {}, {}
    if request.method == "POST":
        form = request.form
        problems = signup.form_problems(form, identity)
        if not problems:
            try:
                account = signup.create_pending_account(identity, form["email"], form["password"])
            except signup.SignupError as exc:
                problems = {"form": str(exc)}
            else:
                session.pop("cps_signup", None)
                signup.send_validation_mail(account)
                return render_template(
                    "message.html", title="Validez votre adresse e-mail",
                    message=f"Un e-mail vient d'être envoyé à {account.email}.",
                    paragraphs=["Cliquez sur « Valider l'adresse e-mail » dans ce message pour "
                                "activer votre compte amelipro. Le lien est valable 48 heures."])
    return render_template("card_signup.html", identity=identity, form=form, errors=problems,
                           login_url=url_for("interaction.login", ticket=ticket)), (
        400 if problems else 200)


@bp.get("/valider-email/<token>")
def validate_email(token: str):
    """The link of the validation e-mail: activate the account."""
    outcome, _account = signup.activate(token)
    login_url = url_for("interaction.login")
    if outcome == "activated":
        return render_template("message.html", title="Votre compte vient d'être créé",
                               message="Votre adresse e-mail est validée et votre compte amelipro "
                                       "est activé.",
                               paragraphs=["Vous pouvez vous connecter avec votre carte CPS, ou "
                                           "avec votre adresse e-mail et votre mot de passe."],
                               link_url=login_url, link_label="ME CONNECTER")
    if outcome == "already":
        return render_template("message.html", title="Adresse déjà validée",
                               message="Votre adresse e-mail est déjà validée.",
                               link_url=login_url, link_label="ME CONNECTER")
    message = ("Ce lien de validation a expiré. Reconnectez-vous avec votre carte CPS : un "
               "nouveau lien vous sera envoyé." if outcome == "expired"
               else "Ce lien de validation n'est pas valide.")
    return render_error("Lien de validation invalide", message, 400)
