"""Single-use links sent by e-mail: reset, e-mail validation, e-mail change.

The link carries 256 random bits; only their SHA-256 is stored. Using a link
is one conditional UPDATE, so two clicks (or two tabs) cannot both succeed.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import select, update

from idp.extensions import db
from idp.models import AccountToken

# Longer input cannot be one of our tokens: refused before any lookup.
MAX_TOKEN_LENGTH = 64


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(account_id: int, purpose: str, ttl: int, email: str | None = None) -> str:
    """Create a link token (committed); return the value to put in the link."""
    token = secrets.token_urlsafe(32)
    db.session.add(AccountToken(account_id=account_id, purpose=purpose, token_hash=_digest(token),
                                email=email, expires_at=int(time.time()) + ttl))
    db.session.commit()
    return token


def lookup(token: str, purpose: str) -> tuple[str, AccountToken | None]:
    """("valid" | "used" | "expired" | "unknown", row) for a token of ``purpose``."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return "unknown", None
    row = db.session.scalar(select(AccountToken).where(
        AccountToken.token_hash == _digest(token), AccountToken.purpose == purpose))
    if row is None:
        return "unknown", None
    if row.used_at is not None:
        return "used", row
    if row.expires_at <= time.time():
        return "expired", row
    return "valid", row


def consume(row: AccountToken) -> bool:
    """Mark the link used; False when another request used it first (nothing committed)."""
    done = db.session.execute(update(AccountToken).where(
        AccountToken.id == row.id, AccountToken.used_at.is_(None),
        AccountToken.expires_at > int(time.time())).values(used_at=int(time.time())))
    return done.rowcount == 1


def invalidate(account_id: int, purpose: str) -> None:
    """Make every unused link of ``purpose`` of the account unusable (not committed)."""
    db.session.execute(update(AccountToken).where(
        AccountToken.account_id == account_id, AccountToken.purpose == purpose,
        AccountToken.used_at.is_(None)).values(used_at=int(time.time())))
