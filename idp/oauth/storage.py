"""Storage of codes and tokens: hashed at rest, single use enforced in SQL.

Every "use once" rule is one conditional UPDATE whose row count says who won,
so that it holds across threads, workers and hosts on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import joinedload

from idp.extensions import db
from idp.models import AuthorizationCode, Token

# The statements of the token endpoint, UserInfo and introspection are built once: building
# one and deriving its cache key took about as long as running it (measured: an ORM select
# of a token with its account, 406 us of CPU when built per call, 236 us prebuilt).
_codes, _tokens = AuthorizationCode.__table__.c, Token.__table__.c
_CODE = (select(AuthorizationCode).options(joinedload(AuthorizationCode.account))
         .where(AuthorizationCode.code_hash == bindparam("code_hash"),
                AuthorizationCode.client_id == bindparam("client_id")))
_TOKEN_WITH_ACCOUNT = select(Token).options(joinedload(Token.account))
_BY_REFRESH = _TOKEN_WITH_ACCOUNT.where(Token.refresh_token_hash == bindparam("token_hash"))
_BY_ACCESS = _TOKEN_WITH_ACCOUNT.where(Token.access_token_hash == bindparam("token_hash"))
_BY_ANY = _TOKEN_WITH_ACCOUNT.where((Token.access_token_hash == bindparam("token_hash"))
                                    | (Token.refresh_token_hash == bindparam("token_hash")))
# Table (Core) INSERTs: the ORM's unit of work cost as much as the rest of the storage work
# of a token request, for rows the request never changes again.
_INSERT_TOKEN = insert(Token.__table__).returning(_tokens.id)
_INSERT_CODE = insert(AuthorizationCode.__table__)
# The claims are table (Core) UPDATEs: they change one column of a row no later code of the
# request reads back, so the ORM's bookkeeping of loaded objects would be wasted work.
_CLAIM_CODE = (update(AuthorizationCode.__table__)
               .where(_codes.id == bindparam("row_id"), _codes.used_at.is_(None),
                      _codes.expires_at > bindparam("now"))
               .values(used_at=bindparam("now")))
_CLAIM_REFRESH = (update(Token.__table__)
                  .where(_tokens.id == bindparam("row_id"), _tokens.refresh_used_at.is_(None),
                         _tokens.revoked_at.is_(None))
                  .values(refresh_used_at=bindparam("now")))


def read_only_request() -> None:
    """Run this request's queries outside a transaction: it writes nothing, and the BEGIN and
    ROLLBACK around its reads would cost two round trips to the database."""
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def digest(value: str) -> str:
    """SHA-256 of a code or token: what the database keeps instead of the value."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_token_value() -> str:
    """A random opaque token (256 bits)."""
    return secrets.token_urlsafe(32)


def save_code(code: str, *, client_id: str, login, redirect_uri: str, scope: str,
              nonce: str | None, challenge: str, challenge_method: str, ttl: int) -> None:
    """Store a new authorization code for ``login`` (a LoginState)."""
    db.session.execute(_INSERT_CODE, dict(
        code_hash=digest(code), client_id=client_id, account_id=login.account_id,
        redirect_uri=redirect_uri, scope=scope, nonce=nonce, code_challenge=challenge,
        code_challenge_method=challenge_method, auth_time=login.auth_time, acr=login.acr,
        amr=list(login.amr), sid=login.sid, expires_at=int(time.time()) + ttl))
    db.session.commit()


def find_code(code: str, client_id: str) -> AuthorizationCode | None:
    """The unexpired, unused code of this client; a used one counts as a replay."""
    # The account comes in the same query: the grant checks it is still active.
    row = db.session.scalar(_CODE, {"code_hash": digest(code), "client_id": client_id})
    if row is None or row.expires_at <= time.time():
        return None
    if row.used_at is not None:
        report_code_replay(row.id)
        return None
    return row


def claim_code(row: AuthorizationCode) -> bool:
    """Mark the code used; True for exactly one caller, however many race."""
    result = db.session.execute(_CLAIM_CODE, {"row_id": row.id, "now": int(time.time())})
    # Not committed here: the claim and the tokens it leads to (save_token) commit together,
    # one disk flush instead of two. The row lock taken by this UPDATE makes any rival
    # redemption wait for that commit, then find the code used (and report the replay).
    if result.rowcount != 1:
        report_code_replay(row.id)
        return False
    return True


def report_code_replay(code_id: int) -> None:
    """A code was presented twice: flag it and revoke what it produced."""
    now = int(time.time())
    db.session.execute(update(AuthorizationCode).where(AuthorizationCode.id == code_id)
                       .values(replayed_at=now))
    _revoke(Token.code_id == code_id)


def save_token(token: dict, *, client_id: str, account_id: int, scope: str, settings,
               code: AuthorizationCode | None = None, parent: Token | None = None) -> Token:
    """Store the token pair issued from a code or by rotating ``parent``."""
    now = int(time.time())
    source = code if code is not None else parent
    if parent is not None:
        family_id, absolute = parent.family_id, parent.refresh_expires_at
        code_id = parent.code_id
    else:
        family_id, absolute = secrets.token_hex(16), now + settings.refresh_absolute_ttl
        code_id = code.id
    refresh = token.get("refresh_token")
    values = dict(
        family_id=family_id, client_id=client_id, account_id=account_id, code_id=code_id,
        scope=scope, access_token_hash=digest(token["access_token"]),
        refresh_token_hash=digest(refresh) if refresh else None, issued_at=now,
        access_expires_at=now + int(token["expires_in"]),
        refresh_expires_at=absolute if refresh else None,
        refresh_idle_expires_at=min(absolute, now + settings.refresh_idle_ttl) if refresh else None,
        auth_time=source.auth_time, acr=source.acr, amr=list(source.amr or []), sid=source.sid)
    values["id"] = db.session.scalar(_INSERT_TOKEN, values)
    # Commits the claim of the code or refresh token too. A rival redemption sees the code
    # used only from this commit on, so the tokens it then revokes include these.
    db.session.commit()
    # The saved row as an object outside the session (the ID token is built from it).
    row = Token(**values)
    row.account = source.account
    return row


def find_refresh(refresh_token: str) -> Token | None:
    """The live token row of a refresh token; a rotated one counts as a replay."""
    # The account comes in the same query: the grant checks it is still active.
    row = db.session.scalar(_BY_REFRESH, {"token_hash": digest(refresh_token)})
    if row is None or row.revoked_at is not None:
        return None
    if row.refresh_used_at is not None:
        revoke_family(row.family_id)
        return None
    now = time.time()
    if row.refresh_expires_at <= now or row.refresh_idle_expires_at <= now:
        return None
    return row


def claim_refresh(row: Token) -> bool:
    """Mark a refresh token used; the loser of a race revokes the family."""
    result = db.session.execute(_CLAIM_REFRESH, {"row_id": row.id, "now": int(time.time())})
    # Committed with the rotated token by save_token (see claim_code).
    if result.rowcount != 1:
        revoke_family(row.family_id)
        return False
    return True


def find_access(access_token: str) -> Token | None:
    """The token row of an access token and its account (one query), whatever its state."""
    return db.session.scalar(_BY_ACCESS, {"token_hash": digest(access_token)})


def find_any(value: str) -> tuple[Token, bool] | None:
    """The row of an access or a refresh token, and whether ``value`` is the refresh token
    (revocation and introspection)."""
    token_hash = digest(value)
    row = db.session.scalar(_BY_ANY, {"token_hash": token_hash})
    return None if row is None else (row, row.refresh_token_hash == token_hash)


def _revoke(*criteria) -> None:
    """Revoke the live tokens matching ``criteria``, and commit.

    The rows are locked in id order first: revocations of one family by concurrent replays
    (and a rotation holding its row) then queue instead of deadlocking, whatever order the
    database would otherwise update them in.
    """
    ids = db.session.scalars(select(Token.id).where(*criteria, Token.revoked_at.is_(None))
                             .order_by(Token.id).with_for_update()).all()
    if ids:
        db.session.execute(update(Token).where(Token.id.in_(ids))
                           .values(revoked_at=int(time.time())))
    db.session.commit()


def revoke_family(family_id: str) -> None:
    """Revoke every token of a grant: access and refresh, past and present."""
    _revoke(Token.family_id == family_id)


def revoke_account_tokens(account_id: int) -> None:
    """Revoke every token of an account (every grant), e.g. after a password reset."""
    _revoke(Token.account_id == account_id)


def revoke_access(row: Token) -> None:
    """Revoke one access token, leaving its grant alive."""
    db.session.execute(update(Token).where(Token.id == row.id)
                       .values(access_revoked_at=int(time.time())))
    db.session.commit()


def revoke_account_sessions_tokens(account_id: int, sid: str) -> None:
    """Revoke the tokens issued from one login session (RP-initiated logout)."""
    _revoke(Token.account_id == account_id, Token.sid == sid)
