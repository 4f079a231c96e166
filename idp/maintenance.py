"""Purging what has expired: authorization codes, token families, single-use e-mail links.

Audit events are not purged here: how long they are kept is a decision of the
operator (and of the law), not a technical expiry.
"""

from __future__ import annotations

import time

from sqlalchemy import delete, func

from idp.extensions import db
from idp.models import AccountToken, AuthorizationCode, Token

# Rows are kept a day past their expiry: a code or a refresh token replayed within that
# day is still recognised as a replay (and revokes what it issued) rather than unknown.
GRACE_SECONDS = 24 * 3600


def purge_expired(now: float | None = None) -> dict[str, int]:
    """Delete rows expired for more than a day; return how many of each were deleted."""
    cutoff = int(now if now is not None else time.time()) - GRACE_SECONDS
    # A token row ends with its family's refresh token (or its access token when none).
    token_end = func.coalesce(Token.refresh_expires_at, Token.access_expires_at)
    statements = {
        "authorization_codes": delete(AuthorizationCode).where(
            AuthorizationCode.expires_at < cutoff),
        "tokens": delete(Token).where(token_end < cutoff, Token.access_expires_at < cutoff),
        "account_tokens": delete(AccountToken).where(AccountToken.expires_at < cutoff),
    }
    counts = {table: db.session.execute(statement).rowcount
              for table, statement in statements.items()}
    db.session.commit()
    return counts
