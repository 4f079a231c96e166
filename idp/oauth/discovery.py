"""The OpenID Provider metadata: only what is implemented, and exactly the issuer."""

from __future__ import annotations

import json

from idp.oauth import claims
from idp.oauth.grants import CLIENT_AUTH_METHODS, INTROSPECTION_AUTH_METHODS


def document(settings, algorithms: list[str]) -> dict:
    """The discovery document for ``settings`` and the algorithms that have a current key."""
    base = settings.issuer
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "jwks_uri": f"{base}/jwks",
        "revocation_endpoint": f"{base}/revoke",
        "introspection_endpoint": f"{base}/introspect",
        "end_session_endpoint": f"{base}/logout",
        "scopes_supported": claims.supported_scopes(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": INTROSPECTION_AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims.supported_claims(),
        "acr_values_supported": ["eidas1", "eidas3"] if "cps" in settings.authenticators
        else ["eidas1"],
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": ["fr-FR"],
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
    }


_cache: dict[tuple, str] = {}


def document_json(settings, keys) -> str:
    """The discovery document, serialised once per key set version."""
    snapshot = keys.snapshot()
    cache_key = (settings.issuer, snapshot.version)
    if cache_key not in _cache:
        _cache.clear()
        _cache[cache_key] = json.dumps(document(settings, keys.algorithms()), separators=(",", ":"))
    return _cache[cache_key]
