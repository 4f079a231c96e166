"""Does this authorization request need a login or a consent? Pure decisions.

The protocol decides *that* an interaction is needed; the login and consent
pages decide *how*, and record what happened on the pending request (its
``login_at`` / ``consent_at`` / ``denied`` fields).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749.util import scope_to_list

from idp.oauth import acr

SUPPORTED_PROMPTS = ("none", "login", "consent")


class Need(enum.Enum):
    """What must happen before a code can be issued."""

    NOTHING = "nothing"
    LOGIN = "login"
    STEP_UP = "step_up"            # logged in, but below the level the request requires
    CONSENT = "consent"
    DENIED = "denied"


@dataclass(frozen=True)
class Situation:
    """Facts the decision depends on."""

    prompts: frozenset[str]
    max_age: int | None
    login_sub: str | None          # subject of the browser's current login
    auth_time: int | None          # when that login happened
    hint_sub: str | None           # subject of a valid id_token_hint
    login_done_here: bool          # a login happened for this very request
    consent_done_here: bool        # the user answered the consent page for this request
    denied: bool                   # ... and refused
    first_party: bool
    consented_scopes: frozenset[str]
    requested_scopes: frozenset[str]
    login_acr: str | None = None   # level of the current login
    required_acr: str | None = None  # lowest level the request accepts


def parse_prompt(value: str | None) -> frozenset[str]:
    """The prompt values; ``none`` with anything else is an invalid request."""
    prompts = frozenset(scope_to_list(value) or [])
    if "none" in prompts and len(prompts) > 1:
        raise InvalidRequestError("prompt=none cannot be combined with other values.")
    return prompts & frozenset(SUPPORTED_PROMPTS)


def parse_max_age(value: str | None) -> int | None:
    """``max_age`` as a non-negative integer number of seconds."""
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 10:
        raise InvalidRequestError("max_age must be a non-negative integer.")
    return int(value)


def decide(s: Situation, now: float | None = None) -> Need:
    """What the request needs next."""
    now = time.time() if now is None else now
    if s.login_sub is None:
        return Need.LOGIN
    if not s.login_done_here:
        if "login" in s.prompts:
            return Need.LOGIN
        # max_age=0 means "authenticate again now", even within the second of the last login.
        if s.max_age is not None and (s.max_age == 0 or now - (s.auth_time or 0) > s.max_age):
            return Need.LOGIN
        if s.hint_sub is not None and s.hint_sub != s.login_sub:
            return Need.LOGIN
    if not acr.satisfies(s.login_acr, s.required_acr):
        return Need.STEP_UP
    if s.denied:
        return Need.DENIED
    if s.consent_done_here:
        return Need.NOTHING
    if "consent" in s.prompts:
        return Need.CONSENT
    if not s.first_party and not s.requested_scopes <= s.consented_scopes:
        return Need.CONSENT
    return Need.NOTHING
