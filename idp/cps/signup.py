"""Personal account creation with the card (seed « Création de compte d'un PS salarié … »).

A valid card naming no account leads to a form pre-filled from the certificate;
the account is created inactive, and a link e-mailed to the address given
activates it (which also marks the address verified). The link is a signed,
timed token: nothing to store, and it stops working once the account is active.
"""

from __future__ import annotations

import hmac

from flask import current_app, render_template, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from idp.accounts import audit, store
from idp.accounts.identifiers import IdentifierError, parse_login_identifier
from idp.accounts.password_policy import password_problems
from idp.cps.identity import CardIdentity
from idp.extensions import db
from idp.mail import send_mail
from idp.models import Account

SALT = "cps-email-validation"
TERMS_REQUIRED = "Acceptez les conditions générales d'utilisation pour créer votre compte."
ALREADY_EXISTS = "Un compte amelipro existe déjà pour cette carte CPS : connectez-vous avec votre carte."


class SignupError(Exception):
    """The account cannot be created; the message (French) says why."""


def form_problems(form, identity: CardIdentity) -> dict[str, str]:
    """French messages by field for the creation form; empty when it can be accepted."""
    problems = {}
    email = parse_email_or_none(form.get("email", ""))
    if email is None:
        problems["email"] = "L'adresse e-mail n'est pas valide (exemple : nom@domaine.fr)."
    elif parse_email_or_none(form.get("email_confirm", "")) != email:
        problems["email_confirm"] = "Les deux adresses e-mail saisies sont différentes."
    password = form.get("password", "")
    refusals = password_problems(password, [email or "", identity.given_name or "",
                                            identity.family_name or "", identity.number])
    if refusals:
        problems["password"] = " ".join(refusals)
    elif form.get("password_confirm", "") != password:
        problems["password_confirm"] = "Les deux mots de passe saisis sont différents."
    if form.get("terms") != "accepted":
        problems["terms"] = TERMS_REQUIRED
    return problems


def parse_email_or_none(raw: str) -> str | None:
    """The normalised e-mail address typed, or None."""
    try:
        parsed = parse_login_identifier(raw)
    except IdentifierError:
        return None
    return parsed.value if parsed.kinds == ("email",) else None


def create_pending_account(identity: CardIdentity, email: str, password: str) -> Account:
    """Create the inactive account of the card holder (form already checked)."""
    password_hash = current_app.extensions["idp"].passwords.hash(password)
    try:
        account = store.create_account(
            "ps", email=parse_email_or_none(email), password_hash=password_hash,
            identifiers={identity.kind: [identity.number]}, given_name=identity.given_name,
            family_name=identity.family_name, profession_code=identity.profession_code,
            active=False, email_verified=False)
    except IntegrityError:
        db.session.rollback()
        raise SignupError(ALREADY_EXISTS) from None
    audit.record("account_created", account.id, "cps")
    return account


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["IDP_SETTINGS"].secret_key, salt=SALT)


def send_validation_mail(account: Account) -> None:
    """E-mail the link that activates ``account``."""
    token = _serializer().dumps({"a": account.id, "e": account.email})
    link = current_app.config["IDP_SETTINGS"].issuer + url_for("card.validate_email", token=token)
    context = {"name": account.display_name, "link": link}
    send_mail(account.email, "amelipro : validez votre adresse e-mail",
              render_template("card_mail_validation.txt", **context),
              render_template("card_mail_validation.html", **context))


def activate(token: str) -> tuple[str, Account | None]:
    """Follow a validation link: ("activated" | "already" | "expired" | "invalid", account)."""
    max_age = current_app.config["IDP_SETTINGS"].email_validation_ttl
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        return "expired", None
    except BadSignature:
        return "invalid", None
    account = db.session.get(Account, data.get("a")) if isinstance(data, dict) else None
    if account is None or not hmac.compare_digest(account.email or "", str(data.get("e"))):
        return "invalid", None
    if account.active:
        return "already", account
    if account.email_verified:
        return "invalid", None  # deactivated on purpose since: a mail link must not revive it
    account.active = True
    account.email_verified = True
    audit.record("email_validated", account.id, "cps")
    return "activated", account
