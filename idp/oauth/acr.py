"""Authentication levels: what an authorization request requires, and whether a login meets it.

A relying party asks for a level with ``acr_values`` (space-separated, any of them
acceptable) or with the ``claims`` parameter (``{"id_token": {"acr": {"essential":
true, "values": [...]}}}``). Either way we enforce it: a code is never issued for a
login below the level asked, so an ID token never carries a lower ``acr``.
"""

from __future__ import annotations

import json

from authlib.oauth2.rfc6749 import InvalidRequestError

# eIDAS levels as Pro Santé Connect uses them: a password is eidas1, a CPS card eidas3.
LEVELS = {"eidas1": 1, "eidas2": 2, "eidas3": 3}
MAX_CLAIMS_LENGTH = 2048


def _lowest(values) -> str | None:
    known = [v for v in values if v in LEVELS]
    return min(known, key=LEVELS.__getitem__) if known else None


def requested_acr(acr_values: str | None, claims: str | None) -> str | None:
    """The lowest level that satisfies the request, or None when no known level is asked."""
    levels = []
    if acr_values:
        levels.append(_lowest(acr_values.split()))
    if claims:
        levels.append(_from_claims(claims))
    levels = [level for level in levels if level]
    # Both given: the stricter of the two requirements applies.
    return max(levels, key=LEVELS.__getitem__) if levels else None


def _from_claims(raw: str) -> str | None:
    if len(raw) > MAX_CLAIMS_LENGTH:
        raise InvalidRequestError("The 'claims' parameter is too long.")
    try:
        claims = json.loads(raw)
    except ValueError:
        raise InvalidRequestError("The 'claims' parameter is not valid JSON.") from None
    if not isinstance(claims, dict):
        raise InvalidRequestError("The 'claims' parameter must be a JSON object.")
    found = []
    for member in ("id_token", "userinfo"):
        request = (claims.get(member) or {}) if isinstance(claims.get(member), dict) else {}
        acr = request.get("acr")
        if isinstance(acr, dict):
            values = acr.get("values") or ([acr["value"]] if "value" in acr else [])
            if isinstance(values, list):
                found.append(_lowest([v for v in values if isinstance(v, str)]))
    found = [level for level in found if level]
    return max(found, key=LEVELS.__getitem__) if found else None


def satisfies(acr: str | None, required: str | None) -> bool:
    """True when a login at level ``acr`` meets the requirement."""
    if required is None:
        return True
    return LEVELS.get(acr or "", 0) >= LEVELS[required]
