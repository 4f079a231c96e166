"""Back-office accounts: creation and password check, under the same lockout as everyone."""

from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import select

from idp.accounts.password_policy import password_problems
from idp.admin import ROLES
from idp.extensions import db
from idp.models import AdminAccount

_USERNAME = re.compile(r"^[a-z0-9._-]{3,64}$")


class AdminError(ValueError):
    """The back-office account cannot be created; the message says why."""


def create_admin(username: str, display_name: str, role: str, password: str) -> AdminAccount:
    """Create an adviser account (password policy applies)."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise AdminError("username: 3 to 64 characters among a-z, 0-9, '.', '_' and '-'")
    if role not in ROLES:
        raise AdminError(f"role must be one of {', '.join(ROLES)}")
    if not display_name.strip() or len(display_name) > 100:
        raise AdminError("name: 1 to 100 characters")
    if db.session.scalar(select(AdminAccount).where(AdminAccount.username == username)):
        raise AdminError(f"{username} already exists")
    problems = password_problems(password, [username, display_name])
    if problems:
        raise AdminError(" ".join(problems))
    admin = AdminAccount(username=username, display_name=display_name.strip(), role=role,
                         password_hash=current_app.extensions["idp"].passwords.hash(password))
    db.session.add(admin)
    db.session.commit()
    return admin


def authenticate(username: str, password: str) -> tuple[AdminAccount | None, int]:
    """The adviser whose credentials these are, or None and the minutes left if locked.

    Unknown usernames cost one hash verification too, and share the lockout of
    professionals' accounts (keyed subjects, three failures lock). RedisError
    propagates: the caller fails closed.
    """
    services = current_app.extensions["idp"]
    admin = db.session.scalar(select(AdminAccount).where(
        AdminAccount.username == username.strip().lower()[:64], AdminAccount.active.is_(True)))
    subject = services.lockout.subject_for_unknown("admin:" + username.strip().lower()[:64])
    attempt = services.lockout.begin(subject)
    if not attempt.allowed:
        return None, attempt.locked_minutes
    if services.passwords.verify(admin.password_hash if admin else None, password):
        services.lockout.succeed(subject)
        return admin, 0
    services.lockout.fail(subject, attempt)
    return None, 0
