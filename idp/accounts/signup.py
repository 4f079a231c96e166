"""Centre account creation from the FINESS referential (seed « Création du compte … centre »).

The establishment comes from the referential, never from what is typed; the
account gets a provisional password that only the posted letter carries, and
the e-mail address is validated by a link.
"""

from __future__ import annotations

import re
import time

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.accounts import audit, letters, links, notifications
from idp.accounts.identifiers import IdentifierError, finess_key_valid, parse_login_identifier
from idp.extensions import db
from idp.models import Account, Establishment, Identifier
from idp.referentials.finess import CENTRE_DE_SANTE

VALIDATE = "validate"
VALIDATION_PATH = "/creer-un-compte/valider/"
_FINESS = re.compile(r"^(\d{2}|2A|2B)\d{7}$")

MSG_FINESS_EMPTY = "Saisissez le N° FINESS géographique de votre centre de santé."
MSG_FINESS_FORMAT = ("Le N° FINESS comporte 9 caractères : des chiffres (2A ou 2B au début pour "
                     "la Corse).")
MSG_FINESS_KEY = "Ce N° FINESS n'est pas valide : vérifiez le dernier chiffre (clé de contrôle)."
MSG_FINESS_UNKNOWN = ("Ce N° FINESS ne figure pas dans le référentiel des établissements. "
                      "Vérifiez-le sur votre arrêté d'autorisation ou contactez votre CPAM.")
MSG_NOT_CENTRE = ("Cet établissement n'est pas un centre de santé ({label}) : la création d'un "
                  "compte par N° FINESS est réservée aux centres de santé.")
MSG_EXISTS = ("Un compte amelipro existe déjà pour cet établissement. Connectez-vous avec le "
              "N° FINESS, ou utilisez « Mot de passe oublié ».")
MSG_EMAIL = "L'adresse e-mail n'est pas valide (exemple : nom@domaine.fr)."
MSG_EMAIL_CONFIRM = "Les deux adresses e-mail saisies sont différentes."
MSG_TERMS = "Acceptez les conditions générales d'utilisation pour créer le compte."


class SignupError(ValueError):
    """The FINESS cannot open an account; the message (French) says why."""


def find_centre(raw: str) -> Establishment:
    """The centre de santé a typed FINESS names, or SignupError."""
    value = "".join((raw or "").split()).upper()
    if not value:
        raise SignupError(MSG_FINESS_EMPTY)
    if not _FINESS.match(value):
        raise SignupError(MSG_FINESS_FORMAT)
    if current_app.config["IDP_SETTINGS"].finess_check_key and not finess_key_valid(value):
        raise SignupError(MSG_FINESS_KEY)
    establishment = db.session.get(Establishment, value)
    if establishment is None:
        raise SignupError(MSG_FINESS_UNKNOWN)
    if establishment.category != CENTRE_DE_SANTE:
        raise SignupError(MSG_NOT_CENTRE.format(label=establishment.category_label or
                                                "autre catégorie"))
    if account_exists(value):
        raise SignupError(MSG_EXISTS)
    return establishment


def account_exists(finess: str) -> bool:
    """True when an account already holds this number (as FINESS or numéro AM)."""
    return db.session.scalar(select(Identifier.id).where(
        Identifier.kind.in_(("finess", "am")), Identifier.value == finess)) is not None


def parse_email(raw: str) -> str | None:
    """The normalised e-mail address typed, or None."""
    try:
        parsed = parse_login_identifier(raw or "")
    except IdentifierError:
        return None
    return parsed.value if parsed.kinds == ("email",) else None


def form_problems(form) -> dict[str, str]:
    """French messages by field for the e-mail step; empty when acceptable."""
    problems = {}
    email = parse_email(form.get("email", ""))
    if email is None:
        problems["email"] = MSG_EMAIL
    elif parse_email(form.get("email_confirm", "")) != email:
        problems["email_confirm"] = MSG_EMAIL_CONFIRM
    if form.get("terms") != "accepted":
        problems["terms"] = MSG_TERMS
    return problems


def post_new_letter(account: Account, establishment: Establishment) -> None:
    """Give the account a new provisional password and post it (committed only if posted)."""
    settings = current_app.config["IDP_SETTINGS"]
    password = letters.provisional_password()
    account.password_hash = current_app.extensions["idp"].passwords.hash(password)
    account.provisional_expires_at = int(time.time()) + settings.provisional_password_ttl
    account.password_disabled = False
    db.session.flush()
    address = [establishment.long_name or establishment.name, *establishment.address_lines()]
    letters.send_provisional_letter(settings, address, establishment.finess, password,
                                    account.provisional_expires_at)
    db.session.commit()


def create_centre_account(establishment: Establishment, email: str) -> Account:
    """Create the centre's account, post its letter and e-mail the validation link."""
    account = Account(kind="centre", email=email, email_verified=False,
                      organisation_name=establishment.name)
    account.identifiers.append(Identifier(kind="finess", value=establishment.finess))
    db.session.add(account)
    try:
        post_new_letter(account, establishment)
    except IntegrityError:
        db.session.rollback()
        raise SignupError(MSG_EXISTS) from None
    except Exception:
        db.session.rollback()  # no letter, no account: the director can simply try again
        raise
    audit.record("centre_account_created", account.id, "finess", commit=False)
    audit.record("provisional_password_sent", account.id, "finess")
    send_validation(account)
    return account


def send_validation(account: Account) -> None:
    """E-mail the link validating the account's address."""
    settings = current_app.config["IDP_SETTINGS"]
    token = links.issue(account.id, VALIDATE, settings.email_validation_ttl, account.email)
    notifications.centre_validation(account, settings.issuer + VALIDATION_PATH + token,
                                    settings.email_validation_ttl // 3600)


def validate_email(token: str) -> str:
    """Follow a validation link: "validated", "used", "expired" or "unknown"."""
    status, row = links.lookup(token, VALIDATE)
    if status != "valid":
        return status
    account = db.session.get(Account, row.account_id)
    if account is None or account.email != row.email or not links.consume(row):
        db.session.rollback()
        return "unknown"
    account.email_verified = True
    audit.record("email_validated", account.id, "email")
    return "validated"
