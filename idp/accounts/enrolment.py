"""Creating accounts from administrative input, with every check applied."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from idp.accounts import store
from idp.accounts.identifiers import (
    IdentifierError,
    finess_key_valid,
    normalise_email,
    parse_login_identifier,
    rpps_valid,
)
from idp.accounts.password_policy import password_problems
from idp.extensions import db
from idp.models import Account, Identifier

LOGIN_NUMBER_KINDS = ("am", "finess")


class AccountError(ValueError):
    """The account cannot be created; the message (French) says why."""


def _check_identifiers(identifiers: dict[str, list[str]], check_finess: bool) -> dict:
    clean: dict[str, list[str]] = {}
    for kind, values in identifiers.items():
        for raw in values:
            value = "".join(raw.split()).upper()
            if kind == "am" and not (value.isdigit() and len(value) == 9):
                raise AccountError(f"N° Assurance Maladie invalide (9 chiffres) : {raw}")
            if kind == "finess" and (len(value) != 9 or (check_finess and not finess_key_valid(value))):
                raise AccountError(f"N° FINESS invalide : {raw}")
            if kind == "rpps" and not rpps_valid(value):
                raise AccountError(f"N° RPPS invalide (11 chiffres avec clé) : {raw}")
            if kind == "adeli" and len(value) != 9:
                raise AccountError(f"N° ADELI invalide (9 caractères) : {raw}")
            # AM and FINESS numbers are typed in one login field: unique across both kinds.
            kinds = LOGIN_NUMBER_KINDS if kind in LOGIN_NUMBER_KINDS else (kind,)
            taken = db.session.scalar(select(Identifier).where(Identifier.kind.in_(kinds),
                                                               Identifier.value == value))
            if taken is not None:
                raise AccountError(f"Cet identifiant est déjà utilisé par un compte : {value}")
            clean.setdefault(kind, []).append(value)
    return clean


def create_account_checked(kind: str, *, identifiers: dict[str, list[str]], email: str,
                           password: str, **fields) -> Account:
    """Validate identifiers, e-mail and password policy, then create the account."""
    settings = current_app.config["IDP_SETTINGS"]
    if kind not in ("centre", "ps"):
        raise AccountError("type de compte inconnu")
    try:
        parsed = parse_login_identifier(email, check_finess_key=settings.finess_check_key)
    except IdentifierError as exc:
        raise AccountError(str(exc)) from None
    if parsed.kinds != ("email",):
        raise AccountError("L'adresse e-mail n'est pas valide.")
    clean = _check_identifiers(identifiers, settings.finess_check_key)
    if kind == "centre" and not clean.get("finess"):
        raise AccountError("Un compte de centre de santé a un N° FINESS.")
    names = [v for v in (fields.get("given_name"), fields.get("family_name")) if v]
    problems = password_problems(password, [normalise_email(email), *names,
                                            *(v for vs in clean.values() for v in vs)])
    if problems:
        raise AccountError(" ".join(problems))
    password_hash = current_app.extensions["idp"].passwords.hash(password)
    return store.create_account(kind, email=parsed.value, password_hash=password_hash,
                                identifiers=clean, email_verified=True, **fields)
