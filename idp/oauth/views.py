"""Protocol endpoints: discovery, JWKS, authorize, token, UserInfo, revocation, introspection."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    MissingAuthorizationError,
    OAuth2Request,
    UnsupportedTokenTypeError,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oidc.core.errors import ConsentRequiredError, InteractionRequiredError, LoginRequiredError
from flask import Blueprint, Response, current_app, jsonify, redirect, request, session, url_for

from idp.extensions import db
from idp.interaction import login_state
from idp.interaction.pages import render_error, service_unavailable
from idp.models import Account, Consent
from idp.oauth import acr, claims, discovery, prompt, storage
from idp.oauth.id_token import decode_id_token_hint
from idp.oauth.responses import authorization_response, error_params

bp = Blueprint("oauth", __name__)

# What each interaction answers to prompt=none, and the page that performs it.
INTERACTIONS = {
    prompt.Need.LOGIN: (LoginRequiredError, "interaction.login"),
    prompt.Need.STEP_UP: (InteractionRequiredError, "interaction.login"),
    prompt.Need.CONSENT: (ConsentRequiredError, "interaction.consent"),
}

# Discovery is public and identical for everyone: let relying parties cache it briefly.
PUBLIC_CACHE = "public, max-age=300"


def _settings():
    return current_app.config["IDP_SETTINGS"]


@bp.get("/.well-known/openid-configuration")
def openid_configuration():
    """OpenID Provider metadata, built once per app."""
    body = discovery.document_json(_settings(), current_app.extensions["idp"].keys)
    return Response(body, mimetype="application/json", headers={"Cache-Control": PUBLIC_CACHE})


@bp.get("/jwks")
def jwks():
    """The public signing keys."""
    body = current_app.extensions["idp"].keys.snapshot().jwks_json
    return Response(body, mimetype="application/jwk-set+json",
                    headers={"Cache-Control": f"public, max-age={_settings().jwks_max_age}"})


def _oauth_request(params: dict[str, list[str]]) -> OAuth2Request:
    """An Authlib request from stored parameters (query, form or a pending ticket)."""
    req = OAuth2Request("GET", _settings().issuer + "/authorize", headers=request.headers)
    req.payload = BasicOAuth2Payload({k: v[0] for k, v in params.items() if v})
    req.payload._datalist = {k: list(v) for k, v in params.items()}
    return req


@bp.route("/authorize", methods=["GET", "POST"])
def authorize():
    """The authorization endpoint (GET, or POST form-encoded)."""
    return _run_authorization(request.values.to_dict(flat=False), ticket=None)


@bp.get("/authorize/resume")
def resume():
    """Continue a pending authorization request after the login or consent pages."""
    ticket = request.args.get("ticket", "")
    entry = login_state.load_pending(ticket)
    if entry is None:
        return render_error("Demande expirée",
                            "Votre demande de connexion a expiré ou a déjà été traitée. "
                            "Retournez sur le service pour recommencer.", 400)
    return _run_authorization(entry["args"], ticket=ticket, entry=entry)


def _run_authorization(params: dict[str, list[str]], ticket: str | None, entry=None):
    if getattr(session, "unavailable", False):
        return service_unavailable()
    server = current_app.extensions["authorization"]
    req = _oauth_request(params)
    login = login_state.current_login()
    account = db.session.get(Account, login.account_id) if login else None
    if login and (account is None or not account.active):
        login_state.end_login()
        login, account = None, None
    try:
        grant = server.get_consent_grant(req, end_user=account)
    except OAuth2Error as error:
        error.state = req.payload.state
        return _error_response(error, req)
    try:
        situation = _situation(grant, login, account, entry)
    except OAuth2Error as error:
        # Client and redirect URI are valid by now: the error goes back to the client.
        error.state, error.redirect_uri = req.payload.state, grant.redirect_uri
        return _error_response(error, req)
    need = prompt.decide(situation)
    if need in INTERACTIONS:
        if "none" in situation.prompts:
            cls, _ = INTERACTIONS[need]
            return _error_response(cls(redirect_uri=grant.redirect_uri,
                                       state=req.payload.state), req)
        ticket = ticket or login_state.save_pending(params)
        # The login pages read the level to reach from the pending request.
        login_state.update_pending(ticket, required_acr=situation.required_acr)
        return redirect(url_for(INTERACTIONS[need][1], ticket=ticket), 303)
    if ticket:
        login_state.drop_pending(ticket)
    if need is prompt.Need.DENIED:
        return _error_response(AccessDeniedError(redirect_uri=grant.redirect_uri,
                                                 state=req.payload.state), req)
    return server.create_authorization_response(req, grant_user=login, grant=grant)


def _situation(grant, login, account, entry) -> prompt.Situation:
    data = grant.request.payload.data
    hint_sub = None
    if data.get("id_token_hint"):
        hint = decode_id_token_hint(keys=current_app.extensions["idp"].keys,
                                    issuer=_settings().issuer, token=data["id_token_hint"])
        hint_sub = hint["sub"] if hint else "invalid"
    consented = frozenset()
    if account is not None and not grant.client.first_party:
        row = db.session.scalar(db.select(Consent).where(
            Consent.account_id == account.id, Consent.client_id == grant.client.client_id))
        consented = frozenset(scope_to_list(row.scope) or []) if row else frozenset()
    entry = entry or {}
    return prompt.Situation(
        prompts=prompt.parse_prompt(data.get("prompt")),
        max_age=prompt.parse_max_age(data.get("max_age")),
        login_sub=account.sub if account else None,
        auth_time=login.auth_time if login else None,
        hint_sub=hint_sub,
        login_done_here=bool(entry.get("login_at")),
        consent_done_here=bool(entry.get("consent_at")),
        denied=bool(entry.get("denied")),
        first_party=bool(grant.client.first_party),
        consented_scopes=consented,
        requested_scopes=frozenset(scope_to_list(grant.request.scope) or []),
        login_acr=login.acr if login else None,
        required_acr=acr.requested_acr(data.get("acr_values"), data.get("claims")))


def _error_response(error: OAuth2Error, req: OAuth2Request):
    """Redirect the error to a validated redirect URI, or show it on our own page."""
    if not getattr(error, "redirect_uri", None):
        return render_error("Demande de connexion invalide",
                            "Le service qui vous a redirigé ici a envoyé une demande incorrecte. "
                            "Retournez sur ce service et réessayez.", 400,
                            details=f"{error.error}: {error.description or ''}".strip(": "))
    mode = req.payload.data.get("response_mode", "query")
    if mode not in ("query", "form_post"):
        mode = "query"
    status, body, headers = authorization_response(error.redirect_uri, error_params(error), mode)
    return Response(body, status=status, headers=headers)


@bp.post("/token")
def token():
    """The token endpoint: code exchange and refresh."""
    return current_app.extensions["authorization"].create_token_response()


@bp.post("/revoke")
def revoke():
    """RFC 7009 token revocation."""
    server = current_app.extensions["authorization"]
    return server.create_endpoint_response("revocation")


@bp.post("/introspect")
def introspect():
    """RFC 7662 token introspection."""
    storage.read_only_request()
    server = current_app.extensions["authorization"]
    return server.create_endpoint_response("introspection")


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    """Claims about the holder of a Bearer access token."""
    storage.read_only_request()
    protector = current_app.extensions["resource_protector"]
    try:
        token_row = protector.acquire_token(["openid"])
    except (MissingAuthorizationError, UnsupportedTokenTypeError):
        # RFC 6750 §3.1: a request without a Bearer token gets a bare challenge, no error code.
        return jsonify(error="invalid_request"), 401, {"WWW-Authenticate": 'Bearer realm="idp"'}
    except OAuth2Error as error:
        protector.raise_error_response(error)
    account = token_row.account
    if not account.active:
        return jsonify(error="invalid_token"), 401, {
            "WWW-Authenticate": 'Bearer error="invalid_token"'}
    return jsonify(claims.userinfo(account, token_row.scope))


def init_app(app) -> None:
    """Register the protocol blueprint."""
    app.register_blueprint(bp)



