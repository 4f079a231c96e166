"""What Authlib needs to know of our rows, as mixins the models inherit.

They read columns only; nothing here touches the database session.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oidc.core import AuthorizationCodeMixin

GRANT_TYPES = ("authorization_code", "refresh_token")

# Set by the app factory from IDP_SECRET_KEY: the key of client secret hashes.
_secret_hash_key = {"key": b""}


def set_secret_hash_key(key: bytes) -> None:
    """Install the key client secrets are hashed with (derived from IDP_SECRET_KEY)."""
    _secret_hash_key["key"] = key


def hash_client_secret(secret: str) -> str:
    """Keyed SHA-256 of a client secret: fast, and useless without the server's key."""
    return hmac.new(_secret_hash_key["key"], secret.encode(), hashlib.sha256).hexdigest()


class OAuthClientMixin(ClientMixin):
    """Authlib's view of a registered client."""

    def get_client_id(self):
        """The public client identifier."""
        return self.client_id

    def get_default_redirect_uri(self):
        """None: OpenID Connect requires the redirect_uri parameter in every request."""
        return

    def get_allowed_scope(self, scope):
        """The requested scopes this client is registered for, in request order."""
        if not scope:
            return ""
        allowed = set(scope_to_list(self.scope))
        return " ".join(s for s in dict.fromkeys(scope_to_list(scope)) if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        """Exact string match against the registered URIs (no prefix, no wildcard)."""
        return redirect_uri in (self.redirect_uris or [])

    def check_client_secret(self, client_secret):
        """Constant-time comparison of keyed hashes."""
        if not self.secret_hash:
            return False
        return hmac.compare_digest(self.secret_hash, hash_client_secret(client_secret))

    def check_endpoint_auth_method(self, method, endpoint):
        """Only the registered authentication method, at every endpoint."""
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type):
        """The authorization code flow only."""
        return response_type == "code"

    def check_grant_type(self, grant_type):
        """Code exchange and refresh."""
        return grant_type in GRANT_TYPES

    @property
    def is_public(self) -> bool:
        """A client without a secret (native or single-page app)."""
        return self.token_endpoint_auth_method == "none"


class OAuthCodeMixin(AuthorizationCodeMixin):
    """Authlib's view of a stored authorization code."""

    def get_redirect_uri(self):
        """The redirect URI the code was issued for."""
        return self.redirect_uri

    def get_scope(self):
        """The granted scope."""
        return self.scope

    def get_nonce(self):
        """The request's nonce, echoed in the ID token."""
        return self.nonce

    def get_auth_time(self):
        """When the user really authenticated."""
        return self.auth_time

    def get_acr(self):
        """The level of the login."""
        return self.acr

    def get_amr(self):
        """The methods of the login."""
        return self.amr


class OAuthTokenMixin(TokenMixin):
    """Authlib's view of a stored access/refresh token pair."""

    def check_client(self, client):
        """True when the token was issued to ``client``."""
        return self.client_id == client.get_client_id()

    def get_scope(self):
        """The granted scope."""
        return self.scope

    def get_expires_in(self):
        """Access token lifetime in seconds."""
        return self.access_expires_at - self.issued_at

    def is_expired(self):
        """True when the access token has expired."""
        return self.access_expires_at <= time.time()

    def is_revoked(self):
        """True when the access token, or the whole grant, was revoked."""
        return bool(self.revoked_at or self.access_revoked_at)

    def get_user(self):
        """The account the token speaks for."""
        return self.account
