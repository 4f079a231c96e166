"""ID tokens: the claims OpenID Connect requires, signed with the current key.

The ID token carries identity and authentication facts only; profile claims
are released by UserInfo (docs/tokens.md says why).
"""

from __future__ import annotations

import time

from authlib.oidc.core.util import create_half_hash
from joserfc import jws, jwt

from idp.signing.material import ALGORITHMS
from idp.signing.service import KeyService


def build_id_token(*, keys: KeyService, alg: str, issuer: str, client_id: str, sub: str,
                   ttl: int, auth_time: int, acr: str | None, amr: list[str], sid: str | None,
                   nonce: str | None, access_token: str | None) -> str:
    """Sign an ID token for one client with the current key of ``alg``."""
    key = keys.signing_key(alg)
    now = int(time.time())
    claims = {"iss": issuer, "sub": sub, "aud": client_id, "exp": now + ttl, "iat": now,
              "auth_time": auth_time}
    if nonce:
        claims["nonce"] = nonce
    if acr:
        claims["acr"] = acr
    if amr:
        claims["amr"] = list(amr)
    if sid:
        claims["sid"] = sid
    if access_token:
        claims["at_hash"] = create_half_hash(access_token, key.alg).decode()
    header = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, key.jwk, algorithms=[key.alg])


def decode_id_token_hint(*, keys: KeyService, issuer: str, token: str) -> dict | None:
    """Claims of an ID token we issued (signature and issuer checked, expiry ignored).

    The signature is tried against each of our published keys of the header's
    algorithm: the ``kid`` of an untrusted token never selects a key.
    """
    try:
        alg = jws.extract_compact(token.encode()).headers().get("alg")
    except Exception:
        return None
    if alg not in ALGORITHMS:
        return None
    for key in keys.verification_keys(alg):
        try:
            decoded = jwt.decode(token, key.jwk, algorithms=[alg])
        except Exception:
            continue
        claims = dict(decoded.claims)
        if claims.get("iss") == issuer and claims.get("sub"):
            return claims
        return None
    return None
