"""Password reset by a link sent by e-mail (seed « Réinitialisation du mot de passe »), and
the one way every password change ends: revocations, unlock, notification, audit.
"""

from __future__ import annotations

import re
import time

from flask import current_app

from idp.accounts import audit, links, notifications, store
from idp.accounts.identifiers import (
    IdentifierError,
    parse_login_identifier,
)
from idp.accounts.password_policy import password_problems
from idp.extensions import db
from idp.interaction.login_state import revoke_account_sessions
from idp.models import Account
from idp.oauth.storage import revoke_account_tokens

RESET = "reset"
RESET_PATH = "/mot-de-passe-oublie/nouveau/"
BACKGROUND_DELAY = 0.1
_NUMBER = re.compile(r"^(\d{9}|2[AB]\d{7})$")

MSG_NOTHING = "Saisissez votre adresse e-mail, ou votre N° d'Assurance Maladie ou FINESS."
MSG_BOTH = "Saisissez soit votre adresse e-mail, soit votre numéro, pas les deux."
MSG_EMAIL = "L'adresse e-mail n'est pas valide (exemple : nom@domaine.fr)."
MSG_NUMBER = ("Le N° d'Assurance Maladie ou FINESS comporte 9 caractères (chiffres, ou 2A/2B "
              "au début pour un FINESS de Corse).")
MSG_SHARED = ("Cette adresse e-mail est associée à plusieurs comptes : saisissez votre N° "
              "d'Assurance Maladie ou FINESS.")
MSG_PASSWORD_CONFIRM = "Les deux mots de passe saisis sont différents."


class ResetRequestError(ValueError):
    """The identification form is wrong; ``field`` names the field the message belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def identify(email_raw: str, number_raw: str) -> Account | None:
    """The account the form names, or None when unknown; ResetRequestError on bad input."""
    email_raw, number_raw = (email_raw or "").strip(), "".join((number_raw or "").split()).upper()
    if not email_raw and not number_raw:
        raise ResetRequestError("email", MSG_NOTHING)
    if email_raw and number_raw:
        raise ResetRequestError("form", MSG_BOTH)
    if email_raw:
        try:
            parsed = parse_login_identifier(email_raw)
        except IdentifierError:
            raise ResetRequestError("email", MSG_EMAIL) from None
        if parsed.kinds != ("email",):
            raise ResetRequestError("email", MSG_EMAIL)
        try:
            return store.find_by_identifier(parsed)
        except store.AmbiguousIdentifier:
            raise ResetRequestError("email", MSG_SHARED) from None
    if not _NUMBER.match(number_raw):
        raise ResetRequestError("number", MSG_NUMBER)
    try:
        return store.find_by_identifier(parse_login_identifier(number_raw))
    except IdentifierError as exc:
        raise ResetRequestError("number", str(exc)) from None
    except store.AmbiguousIdentifier:
        return None  # never happens: AM and FINESS numbers are unique together


def may_reset(account: Account | None) -> bool:
    """Whether a link may be sent: a validated address, and not a letter still awaited.

    A centre account whose provisional password was never used has an e-mail
    typed by whoever created it; a reset link would bypass the posted letter.
    """
    return (account is not None and account.active and bool(account.email)
            and account.email_verified and account.provisional_expires_at is None)


def send_link(account_id: int | None) -> None:
    """Issue a reset token and e-mail its link, when allowed (run in the background)."""
    # Start once the request has answered: a busy background thread would slow the
    # response down, and so tell a known identifier from an unknown one.
    time.sleep(BACKGROUND_DELAY)
    account = db.session.get(Account, account_id) if account_id is not None else None
    if not may_reset(account):
        return
    settings = current_app.config["IDP_SETTINGS"]
    token = links.issue(account.id, RESET, settings.reset_token_ttl)
    audit.record("reset_requested", account.id, "email")
    # The issuer, never the request's Host header: a forged Host must not redirect the link.
    notifications.reset_link(account, settings.issuer + RESET_PATH + token,
                             settings.reset_token_ttl // 60)


def request_reset(account: Account | None) -> None:
    """Hand the request to the background whatever the account; the caller answers the same.

    Known and unknown identifiers cost the request the same work: one lookup and
    one thread started.
    """
    notifications.in_background(send_link, account.id if account is not None else None)


def new_password_problems(account: Account, form) -> dict[str, str]:
    """French messages by field for a new password and its confirmation."""
    password = form.get("password", "")
    identifiers = [account.email or "", account.given_name or "", account.family_name or "",
                   *(i.value for i in account.identifiers)]
    refusals = password_problems(password, identifiers)
    if refusals:
        return {"password": " ".join(refusals)}
    if form.get("password_confirm", "") != password:
        return {"password_confirm": MSG_PASSWORD_CONFIRM}
    return {}


def revoke_everything(account_id: int) -> None:
    """End the account's refresh tokens (every grant) and browser sessions."""
    revoke_account_tokens(account_id)
    revoke_account_sessions(account_id)


def replace_password(account: Account, password: str, event: str) -> None:
    """Store a new password and end everything the old one opened.

    Every other reset link dies, refresh tokens and sessions are revoked, the
    lockout and the failure counter are cleared, the holder is told by e-mail.
    """
    services = current_app.extensions["idp"]
    account.password_hash = services.passwords.hash(password)
    account.provisional_expires_at = None
    account.password_disabled = False
    account.consecutive_failures = 0
    links.invalidate(account.id, RESET)
    db.session.commit()
    revoke_everything(account.id)
    services.lockout.clear(services.lockout.subject_for_account(account.id))
    audit.record(event, account.id, "password")
    if account.email:
        notifications.password_changed(account, reset=event == "password_reset")


def reset_with_token(token: str, form) -> tuple[str, dict[str, str]]:
    """Use a reset link: ("done" | "invalid" | "used" | "expired" | "unknown", field errors)."""
    status, row = links.lookup(token, RESET)
    if status != "valid":
        return status, {}
    account = db.session.get(Account, row.account_id)
    problems = new_password_problems(account, form)
    if problems:
        return "invalid", problems
    if not links.consume(row):
        db.session.rollback()
        return "used", {}
    replace_password(account, form["password"], "password_reset")
    return "done", {}

