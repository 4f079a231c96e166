"""Registering clients, with the checks a redirect URI deserves."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749.util import scope_to_list

from idp.extensions import db
from idp.models import Client
from idp.oauth import claims
from idp.oauth.mixins import hash_client_secret
from idp.signing.material import ALGORITHMS

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


class ClientError(ValueError):
    """The client registration is invalid; the message says why."""


def check_redirect_uri(uri: str) -> None:
    """Absolute https URI without fragment (http only on loopback, for development)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ClientError(f"redirect URI must be an absolute http(s) URI: {uri!r}")
    if parts.fragment:
        raise ClientError(f"redirect URI must not have a fragment: {uri!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ClientError(f"http redirect URIs are allowed on loopback only: {uri!r}")


def register_client(*, name: str, redirect_uris: list[str], post_logout_redirect_uris: list[str],
                    scope: str, auth_method: str, first_party: bool,
                    client_id: str | None = None, client_secret: str | None = None,
                    id_token_alg: str | None = None) -> tuple[Client, str | None]:
    """Create a client; return it with its secret (None for a public client)."""
    if not name.strip() or len(name) > 100:
        raise ClientError("name must be 1 to 100 characters")
    if auth_method not in AUTH_METHODS:
        raise ClientError(f"unknown token endpoint auth method {auth_method!r}")
    if not redirect_uris:
        raise ClientError("at least one redirect URI is required")
    for uri in [*redirect_uris, *post_logout_redirect_uris]:
        check_redirect_uri(uri)
    scopes = scope_to_list(scope) or []
    unknown = [s for s in scopes if s not in claims.SCOPES]
    if unknown or "openid" not in scopes:
        raise ClientError(f"scope must include openid and only known scopes; unknown: {unknown}")
    if client_id is not None and (not client_id or len(client_id) > 64):
        raise ClientError("client id must be 1 to 64 characters")
    if client_id and db.session.scalar(db.select(Client).where(Client.client_id == client_id)):
        raise ClientError(f"client id {client_id!r} already exists")
    if id_token_alg is not None and id_token_alg not in ALGORITHMS:
        raise ClientError(f"id_token_signed_response_alg must be one of {', '.join(ALGORITHMS)}")
    secret = None
    if auth_method != "none":
        secret = client_secret or secrets.token_urlsafe(32)
        if len(secret) < 32:
            raise ClientError("client secret must be at least 32 characters")
    client = Client(name=name.strip(), redirect_uris=list(redirect_uris),
                    post_logout_redirect_uris=list(post_logout_redirect_uris),
                    scope=" ".join(scopes), token_endpoint_auth_method=auth_method,
                    first_party=first_party, id_token_signed_response_alg=id_token_alg,
                    secret_hash=hash_client_secret(secret) if secret else None)
    if client_id:
        client.client_id = client_id
    db.session.add(client)
    db.session.commit()
    return client, secret
