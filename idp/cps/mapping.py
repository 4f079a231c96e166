"""From a card identity to the account holding its RPPS or ADELI number."""

from __future__ import annotations

from sqlalchemy import select

from idp.cps.identity import CardIdentity
from idp.extensions import db
from idp.models import Account, Identifier


def find_account(identity: CardIdentity) -> Account | None:
    """The professional account with this national number, active or not, or None."""
    return db.session.scalars(
        select(Account).join(Identifier)
        .where(Account.kind == "ps", Identifier.kind == identity.kind,
               Identifier.value == identity.number)
        .limit(1)).first()


def awaiting_validation(account: Account) -> bool:
    """An account created with the card whose e-mail address is not validated yet."""
    return not account.active and not account.email_verified
