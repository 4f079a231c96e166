"""Finding and creating accounts."""

from __future__ import annotations

from sqlalchemy import select, update

from idp.accounts.identifiers import ParsedIdentifier
from idp.extensions import db
from idp.models import Account, Identifier


class AmbiguousIdentifier(Exception):
    """An identifier naming several accounts (an e-mail shared by accounts)."""


def find_by_identifier(parsed: ParsedIdentifier) -> Account | None:
    """The active account an identifier leads to, or None; raise when an e-mail is shared."""
    if parsed.kinds == ("email",):
        accounts = db.session.scalars(
            select(Account).where(Account.email == parsed.value, Account.active.is_(True))
            .limit(2)).all()
        if len(accounts) > 1:
            raise AmbiguousIdentifier(parsed.value)
        return accounts[0] if accounts else None
    accounts = db.session.scalars(
        select(Account).join(Identifier)
        .where(Identifier.kind.in_(parsed.kinds), Identifier.value == parsed.value,
               Account.active.is_(True))
        .limit(2)).unique().all()
    if len(accounts) > 1:
        # Account creation keeps AM and FINESS numbers unique together; never guess.
        raise AmbiguousIdentifier(parsed.value)
    return accounts[0] if accounts else None


def add_failure(account_id: int) -> int:
    """Count one more consecutive password failure in the database; return the total."""
    db.session.execute(update(Account).where(Account.id == account_id)
                       .values(consecutive_failures=Account.consecutive_failures + 1))
    db.session.commit()
    return db.session.scalar(select(Account.consecutive_failures).where(Account.id == account_id))


def reset_failures(account: Account) -> None:
    """A successful login: the consecutive failure count starts again."""
    if account.consecutive_failures:
        account.consecutive_failures = 0
        db.session.commit()


def create_account(kind: str, *, email: str | None, password_hash: str | None,
                   identifiers: dict[str, list[str]], **fields) -> Account:
    """Create an account with its identifiers (numéro AM, FINESS, RPPS, ADELI)."""
    account = Account(kind=kind, email=email, password_hash=password_hash, **fields)
    for kind_, values in identifiers.items():
        for value in values:
            account.identifiers.append(Identifier(kind=kind_, value=value))
    db.session.add(account)
    db.session.commit()
    return account
