"""The Authlib authorization server, its endpoints and the UserInfo resource protector."""

from __future__ import annotations

import time

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, current_app
from sqlalchemy import bindparam, select

from idp.extensions import db
from idp.models import Client
from idp.oauth import storage
from idp.oauth.grants import (
    CLIENT_AUTH_METHODS,
    INTROSPECTION_AUTH_METHODS,
    CodeGrant,
    IdTokens,
    PkceS256Required,
    RefreshGrant,
)


class IdpAuthorizationServer(AuthorizationServer):
    """Authlib's Flask server, also accepting a prepared request (a resumed ticket)."""

    def create_oauth2_request(self, request):
        """Use ``request`` when it is already an OAuth2Request, else the Flask request."""
        if isinstance(request, OAuth2Request):
            return request
        return super().create_oauth2_request(request)


# Built once (see idp.oauth.storage): every token request looks its client up.
_CLIENT = select(Client).where(Client.client_id == bindparam("client_id"))


def query_client(client_id: str) -> Client | None:
    """The registered client with this id."""
    if not client_id or len(client_id) > 64:
        return None
    return db.session.scalar(_CLIENT, {"client_id": client_id})


def save_token(token: dict, request) -> None:
    """Store a token pair issued by the code or the refresh grant."""
    settings = _settings()
    request.idp_token = storage.save_token(
        token, client_id=request.client.client_id, account_id=request.user.id,
        scope=token.get("scope", ""), settings=settings,
        code=request.authorization_code, parent=request.refresh_token)


def _settings():
    return current_app.config["IDP_SETTINGS"]


class TokenView:
    """A token row seen through the value presented: access or refresh token."""

    def __init__(self, row, is_refresh: bool) -> None:
        self.row = row
        self.is_refresh = is_refresh

    def check_client(self, client):
        """True when the token was issued to ``client``."""
        return self.row.check_client(client)

    def is_expired(self):
        """Expiry of the presented kind of token."""
        now = time.time()
        if self.is_refresh:
            return (self.row.refresh_used_at is not None or self.row.refresh_expires_at <= now
                    or self.row.refresh_idle_expires_at <= now)
        return self.row.is_expired()

    def is_revoked(self):
        """Revocation of the grant, or of this access token."""
        if self.is_refresh:
            return self.row.revoked_at is not None
        return self.row.is_revoked()


def _query_view(value: str) -> TokenView | None:
    if not value or len(value) > 512:
        return None
    found = storage.find_any(value)
    return TokenView(*found) if found else None


class Revocation(RevocationEndpoint):
    """RFC 7009. Revoking a refresh token ends the whole grant; an access token, itself."""

    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        """Find the token whatever the hint says (the hint is only an optimisation)."""
        return _query_view(token_string)

    def revoke_token(self, token, request):
        """Mark revoked; rows are kept so that a value can never be reused."""
        if token.is_refresh:
            storage.revoke_family(token.row.family_id)
        else:
            storage.revoke_access(token.row)


class Introspection(IntrospectionEndpoint):
    """RFC 7662, for the confidential client the token was issued to."""

    # Introspection answers about a token's state: only authenticated clients may ask.
    CLIENT_AUTH_METHODS = INTROSPECTION_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        """Find the token whatever the hint says."""
        return _query_view(token_string)

    def check_permission(self, token, client, request):
        """A client may introspect its own tokens only."""
        return token.check_client(client)

    def introspect_token(self, token):
        """The RFC 7662 members of an active token."""
        row = token.row
        exp = row.refresh_expires_at if token.is_refresh else row.access_expires_at
        return {"active": True, "scope": row.scope, "client_id": row.client_id,
                "sub": row.account.sub, "token_type": "refresh_token" if token.is_refresh
                else "Bearer", "exp": exp, "iat": row.issued_at,
                "iss": _settings().issuer}


class AccessTokenValidator(BearerTokenValidator):
    """Bearer access tokens for UserInfo."""

    def authenticate_token(self, token_string):
        """The token row of an access token."""
        if not token_string or len(token_string) > 512:
            return None
        return storage.find_access(token_string)


def init_app(app: Flask) -> None:
    """Build the authorization server and the UserInfo protector of ``app``."""
    settings = app.config["IDP_SETTINGS"]
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": settings.access_token_ttl,
        "refresh_token": settings.access_token_ttl}
    app.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = lambda **kw: storage.new_token_value()
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = lambda **kw: storage.new_token_value()
    server = IdpAuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(CodeGrant, [PkceS256Required(), IdTokens()])
    server.register_grant(RefreshGrant, [IdTokens()])
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    protector = ResourceProtector()
    protector.register_token_validator(AccessTokenValidator())
    app.extensions["authorization"] = server
    app.extensions["resource_protector"] = protector
