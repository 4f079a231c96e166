"""The login held by the browser session, and pending authorization requests.

The login pages put a successful :class:`LoginResult` here; the protocol layer
reads it back as a :class:`LoginState` to issue codes.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from flask import session

from idp.authenticators.base import LoginResult
from idp.redis_store import get_redis

# A pending authorization request is forgotten after this long (seconds).
TICKET_TTL = 30 * 60
MAX_PENDING = 5
# A revocation must outlive every session it ends: the absolute session lifetime is 4 h.
REVOCATION_MEMORY = 24 * 3600


@dataclass(frozen=True)
class LoginState:
    """Who is logged in on this browser, since when, and how."""

    account_id: int
    auth_time: int
    acr: str | None
    amr: tuple[str, ...]
    sid: str


def _revoked_key(account_id: int) -> str:
    return f"idp:sessions-revoked:{account_id}"


def revoke_account_sessions(account_id: int) -> None:
    """End every browser session of an account (password reset, admin action).

    Sessions are not indexed by account: a timestamp is stored instead, and a
    login established before it is refused when read (see current_login).
    """
    get_redis().set(_revoked_key(account_id), repr(time.time()), ex=REVOCATION_MEMORY)


def current_login() -> LoginState | None:
    """The login of this browser session, if any and not revoked since."""
    data = session.get("login")
    if not data:
        return None
    revoked_at = get_redis().get(_revoked_key(data["account_id"]))
    if revoked_at is not None and data.get("established_at", 0) <= float(revoked_at):
        end_login()
        return None
    return LoginState(data["account_id"], data["auth_time"], data.get("acr"),
                      tuple(data.get("amr") or ()), data["sid"])


def establish_login(result: LoginResult) -> LoginState:
    """Record a successful login under a fresh session id."""
    session.rotate()
    state = LoginState(result.account_id, result.auth_time or int(time.time()), result.acr,
                       tuple(result.amr), secrets.token_urlsafe(16))
    session["login"] = {"account_id": state.account_id, "auth_time": state.auth_time,
                        "acr": state.acr, "amr": list(state.amr), "sid": state.sid,
                        "established_at": time.time()}
    return state


def end_login() -> None:
    """Forget everything of this browser session (logout)."""
    session.clear()


def save_pending(args: dict) -> str:
    """Keep an authorization request while the user logs in; return its ticket."""
    pending = {t: p for t, p in session.get("pending", {}).items()
               if time.time() - p["created"] < TICKET_TTL}
    while len(pending) >= MAX_PENDING:
        pending.pop(min(pending, key=lambda t: pending[t]["created"]))
    ticket = secrets.token_urlsafe(16)
    pending[ticket] = {"args": args, "created": time.time()}
    session["pending"] = pending
    return ticket


def load_pending(ticket: str | None) -> dict | None:
    """The pending request of ``ticket`` with its metadata, or None."""
    if not ticket:
        return None
    entry = session.get("pending", {}).get(ticket)
    if not entry or time.time() - entry["created"] >= TICKET_TTL:
        return None
    return entry


def update_pending(ticket: str, **fields) -> None:
    """Add facts to a pending request (e.g. that the login it asked for happened)."""
    pending = dict(session.get("pending", {}))
    if ticket in pending:
        pending[ticket] = {**pending[ticket], **fields}
        session["pending"] = pending


def drop_pending(ticket: str) -> None:
    """Forget a pending request once answered."""
    pending = dict(session.get("pending", {}))
    if pending.pop(ticket, None) is not None:
        session["pending"] = pending
