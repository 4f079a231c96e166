"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

The post-logout redirect URI must be registered for the client named by the
``id_token_hint`` (or ``client_id``); anything else gets our own page, never a
redirect. Without a hint that matches the current login, the user confirms.
"""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from flask import Blueprint, abort, current_app, redirect, render_template, request, session

from idp.accounts import audit
from idp.extensions import db
from idp.interaction import login_state
from idp.interaction.pages import render_error, service_unavailable
from idp.models import Account, Client
from idp.oauth import storage
from idp.oauth.id_token import decode_id_token_hint
from idp.security import check_csrf

bp = Blueprint("logout", __name__)

PARAMS = ("id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales")


@bp.route("/logout", methods=["GET", "POST"])
def end_session():
    """Ask for confirmation when needed, then end the session and return to the client."""
    if getattr(session, "unavailable", False):
        return service_unavailable()
    source = request.form if request.method == "POST" else request.args
    params = {k: source.get(k, "")[:4096] for k in PARAMS if source.get(k)}
    hint = None
    if params.get("id_token_hint"):
        hint = decode_id_token_hint(keys=current_app.extensions["idp"].keys,
                                    issuer=current_app.config["IDP_SETTINGS"].issuer,
                                    token=params["id_token_hint"])
        if hint is None:
            return render_error("Déconnexion impossible", "La demande de déconnexion du service "
                                "n'est pas valide.", 400, details="invalid id_token_hint")
    client = _client(hint, params.get("client_id"))
    target = params.get("post_logout_redirect_uri")
    if target and (client is None or target not in (client.post_logout_redirect_uris or [])):
        return render_error("Déconnexion impossible", "L'adresse de retour demandée par le service "
                            "n'est pas enregistrée.", 400, details="invalid post_logout_redirect_uri")
    current = login_state.current_login()
    if request.method == "POST":
        check_csrf()
        decision = request.form.get("decision")
        if decision not in ("logout", "stay"):
            abort(400, description="decision")
        if decision == "stay":
            return render_template("message.html", title="Vous êtes toujours connecté",
                                   message="Vous n'avez pas été déconnecté."), 200
    elif current is not None and not _hint_matches(hint, current):
        return render_template("logout_confirm.html", client_name=client.name if client else None,
                               hidden=params)
    if current is not None:
        storage.revoke_account_sessions_tokens(current.account_id, current.sid)
        audit.record("logout", current.account_id, None)
    login_state.end_login()
    if target:
        state = params.get("state")
        return redirect(add_params_to_uri(target, [("state", state)] if state else []), 303)
    return render_template(
        "message.html", tone="success", title="Vous êtes déconnecté.",
        message="Votre session amelipro est fermée.",
        paragraphs=["Si vous utilisez un poste partagé, pensez à fermer votre navigateur."])


def _client(hint: dict | None, client_id: str | None) -> Client | None:
    if hint is not None:
        aud = hint.get("aud")
        client_id = aud[0] if isinstance(aud, list) and aud else aud
    if not client_id:
        return None
    return db.session.scalar(db.select(Client).where(Client.client_id == client_id))


def _hint_matches(hint: dict | None, current) -> bool:
    """A hint naming this very login session proves the request comes from its client."""
    if hint is None:
        return False
    account = db.session.get(Account, current.account_id)
    return account is not None and hint.get("sub") == account.sub and hint.get("sid") == current.sid
