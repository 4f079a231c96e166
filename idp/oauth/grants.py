"""Authlib grants, kept thin: each hook is one call into storage or token code.

Hardening over Authlib's defaults: PKCE S256 for every client, query and
form_post response modes only, parameter size limits, atomic single-use codes
and refresh tokens, refresh rotation with family revocation on replay.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import current_app

from idp.extensions import db
from idp.models import Account
from idp.oauth import storage
from idp.oauth.id_token import build_id_token
from idp.oauth.responses import authorization_response

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
INTROSPECTION_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
RESPONSE_MODES = ("query", "form_post")
# No legitimate authorization parameter comes near this; longer ones are attacks or bugs.
MAX_PARAMETER_LENGTH = 2048


def _settings():
    return current_app.config["IDP_SETTINGS"]


def _active_account(account_id: int) -> Account:
    account = db.session.get(Account, account_id)
    if account is None or not account.active:
        raise InvalidGrantError("The account of this grant is no longer active.")
    return account


class PkceS256Required(CodeChallenge):
    """PKCE with S256 for every client, confidential ones included (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ("S256",)

    def validate_code_challenge(self, grant, redirect_uri):
        """Refuse a missing challenge and any method but S256 (an absent method means plain)."""
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send a code_challenge (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)


def validate_request_shape(grant, redirect_uri):
    """Response mode query or form_post only, and no oversized parameter."""
    data = grant.request.payload.data
    for name, value in data.items():
        if isinstance(value, str) and len(value) > MAX_PARAMETER_LENGTH:
            raise InvalidRequestError(f"The '{name}' parameter is too long.")
    if data.get("response_mode", "query") not in RESPONSE_MODES:
        raise InvalidRequestError("Unsupported 'response_mode': use query or form_post.")


class IdTokens:
    """Grant extension adding a signed ID token when the scope has ``openid``."""

    def __call__(self, grant):
        grant.register_hook("after_create_token_response", self.add_id_token)

    def add_id_token(self, grant, response):
        """Sign the ID token of the token row the grant just saved."""
        _, token, _ = response
        if "openid" not in (scope_to_list(token.get("scope")) or []):
            return
        row = grant.request.idp_token
        code = grant.request.authorization_code
        settings = _settings()
        token["id_token"] = build_id_token(
            keys=current_app.extensions["idp"].keys,
            alg=grant.request.client.id_token_signed_response_alg or "RS256", issuer=settings.issuer,
            client_id=row.client_id, sub=row.account.sub, ttl=settings.id_token_ttl,
            auth_time=row.auth_time, acr=row.acr, amr=row.amr, sid=row.sid,
            nonce=code.nonce if code is not None else None, access_token=token["access_token"])


class CodeGrant(AuthorizationCodeGrant):
    """The authorization code grant, codes stored hashed and redeemed once."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def __init__(self, request, server):
        super().__init__(request, server)
        self.register_hook("after_validate_authorization_request_payload",
                           validate_request_shape)

    def create_authorization_response(self, redirect_uri, grant_user):
        """Issue a code for ``grant_user`` (a LoginState) in the requested response mode."""
        self.request.user = grant_user
        code = self.generate_authorization_code()
        self.save_authorization_code(code, self.request)
        params = [("code", code)]
        if self.request.payload.state is not None:
            params.append(("state", self.request.payload.state))
        mode = self.request.payload.data.get("response_mode", "query")
        return authorization_response(redirect_uri, params, mode)

    def save_authorization_code(self, code, request):
        """Store the code with the login it proves."""
        data = request.payload.data
        storage.save_code(code, client_id=request.client.client_id, login=request.user,
                          redirect_uri=request.payload.redirect_uri, scope=request.scope,
                          nonce=data.get("nonce"), challenge=data["code_challenge"],
                          challenge_method=data["code_challenge_method"],
                          ttl=_settings().code_ttl)

    def query_authorization_code(self, code, client):
        """The live code; a used one triggers replay revocation and is refused."""
        return storage.find_code(code, client.client_id)

    def authenticate_user(self, authorization_code):
        """Redeem the code atomically: only one of concurrent redemptions gets an account."""
        if not storage.claim_code(authorization_code):
            raise InvalidGrantError("The authorization code was already used.")
        return _active_account(authorization_code.account_id)

    def delete_authorization_code(self, authorization_code):
        """Nothing to delete: claim_code marked the code used (kept to detect replays)."""


class RefreshGrant(RefreshTokenGrant):
    """Refresh with rotation: every use returns a new refresh token, a reuse kills the family."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        """The live token row of this refresh token."""
        return storage.find_refresh(refresh_token)

    def authenticate_user(self, refresh_token):
        """Use the refresh token atomically, then return its account."""
        if not storage.claim_refresh(refresh_token):
            raise InvalidGrantError("The refresh token was already used.")
        return _active_account(refresh_token.account_id)

    def revoke_old_credential(self, refresh_token):
        """Nothing more to do: claim_refresh already marked it used."""
