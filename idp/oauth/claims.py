"""Claims by scope: what UserInfo (and the ID token) say about an account.

Each scope maps to a provider function ``(account) -> dict``. A later module
(the amelipro and Pro Santé Connect claims) adds its scopes with
:func:`register_scope`; a provider returning ``{}`` for an account it does not
fit (a centre scope asked for a professional) yields no claims, not an error.
"""

from __future__ import annotations

from collections.abc import Callable

from authlib.oauth2.rfc6749.util import scope_to_list

from idp.models import Account

ClaimsProvider = Callable[[Account], dict]

# scope -> (French description for the consent page, claims provider)
SCOPES: dict[str, tuple[str, ClaimsProvider | None]] = {}
# Claim names released by any scope, for discovery.
CLAIM_NAMES = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
               "at_hash"]


def register_scope(scope: str, description: str, provider: ClaimsProvider | None,
                   claims: list[str] = ()) -> None:
    """Declare a scope, its consent wording, the claims it releases and their names."""
    SCOPES[scope] = (description, provider)
    CLAIM_NAMES.extend(c for c in claims if c not in CLAIM_NAMES)


def _profile(account: Account) -> dict:
    claims = {"given_name": account.given_name, "family_name": account.family_name,
              "name": account.display_name}
    return {k: v for k, v in claims.items() if v}


def _email(account: Account) -> dict:
    if not account.email:
        return {}
    return {"email": account.email, "email_verified": bool(account.email_verified)}


register_scope("openid", "Votre identifiant de connexion (anonyme)", None)
register_scope("profile", "Vos nom et prénom, ou la raison sociale de votre établissement",
               _profile, claims=["given_name", "family_name", "name"])
register_scope("email", "Votre adresse e-mail", _email, claims=["email", "email_verified"])
register_scope("offline_access",
               "Un accès maintenu pendant votre session, même quand vous n'êtes pas sur le service",
               None)


def supported_scopes() -> list[str]:
    """Every scope the provider knows, for discovery."""
    return list(SCOPES)


def supported_claims() -> list[str]:
    """Claim names the provider may release, for discovery."""
    return list(CLAIM_NAMES)


def userinfo(account: Account, scope: str) -> dict:
    """The UserInfo claims of ``account`` for the granted ``scope``."""
    claims = {"sub": account.sub}
    for name in scope_to_list(scope) or []:
        entry = SCOPES.get(name)
        if entry and entry[1]:
            claims.update(entry[1](account))
    return claims


def describe(scope: str) -> list[tuple[str, str]]:
    """(scope, French description) pairs for the consent page."""
    return [(s, SCOPES[s][0]) for s in scope_to_list(scope) or [] if s in SCOPES]


# The amelipro and Pro Santé Connect scopes register themselves on import.
from idp.oauth import claims_amelipro, claims_psc  # noqa: E402, F401
