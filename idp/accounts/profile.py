"""What « Mon compte » shows and changes: referential data, e-mail change, events, settings."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from idp.accounts import audit, links, notifications
from idp.accounts.audit import EVENT_LABELS
from idp.accounts.signup import MSG_EMAIL, MSG_EMAIL_CONFIRM, parse_email
from idp.extensions import db
from idp.models import Account, Establishment, Professional, ProfessionalActivity

EMAIL_CHANGE = "email_change"
EMAIL_CHANGE_PATH = "/mon-compte/email/valider/"
MSG_CURRENT_PASSWORD = "Le mot de passe actuel saisi est incorrect."
MSG_SAME_EMAIL = "C'est déjà l'adresse e-mail de votre compte."


@dataclass(frozen=True)
class Place:
    """A practice place as the account page shows it."""

    kind: str
    name: str
    number_label: str
    number: str
    street: str
    town: str
    caisse: str


def _caisse(department: str | None, label: str | None, postal_code: str | None) -> str:
    # The CNAM does not publish which caisse manages a site: the CPAM of its department.
    code = department or ((postal_code or "")[:3] if (postal_code or "").startswith("97")
                          else (postal_code or "")[:2])
    if not code:
        return "non renseignée"
    return f"CPAM {label} ({code})" if label else f"CPAM du département {code}"


def practice_places(account: Account) -> list[Place]:
    """The account's places from the referentials: its establishment, or its RPPS activities."""
    if account.kind == "centre":
        rows = [db.session.get(Establishment, f) for f in account.identifier_values("finess")]
        return [Place("Établissement", e.long_name or e.name, "N° FINESS", e.finess,
                      " ".join(e.address_lines()[:-1]), e.postal_line or "",
                      _caisse(e.department, e.department_label, None)) for e in rows if e]
    national = [("8" + v) for v in account.identifier_values("rpps")] + [
        ("0" + v) for v in account.identifier_values("adeli")]
    activities = db.session.scalars(select(ProfessionalActivity).where(
        ProfessionalActivity.national_id.in_(national)).order_by(ProfessionalActivity.id)).all()
    am_numbers = account.identifier_values("am")
    places = []
    for a in activities:
        liberal = a.mode_code == "L"
        number_label, number = ("N° Assurance Maladie", ", ".join(am_numbers) or "non renseigné") \
            if liberal else ("N° FINESS", a.finess_site or "non renseigné")
        places.append(Place("Cabinet" if liberal else (a.mode_label or "Activité"),
                            a.site_name or "", number_label, number, a.street_line(),
                            f"{a.postal_code or ''} {a.town or ''}".strip(),
                            _caisse(a.department, a.department_label, a.postal_code)))
    return places


def professional(account: Account) -> Professional | None:
    """The account holder in the RPPS referential, if known."""
    national = [("8" + v) for v in account.identifier_values("rpps")]
    return db.session.get(Professional, national[0]) if national else None


def specialties(account: Account) -> list[str]:
    """Distinct savoir-faire labels of the holder's activities."""
    national = [("8" + v) for v in account.identifier_values("rpps")]
    labels = db.session.scalars(select(ProfessionalActivity.skill_label).where(
        ProfessionalActivity.national_id.in_(national),
        ProfessionalActivity.skill_label.is_not(None))).all()
    return list(dict.fromkeys(labels))


def events(account: Account) -> list[tuple[str, str]]:
    """« Mes derniers événements »: (date, wording), newest first."""
    return [(e.created_at.astimezone(notifications.PARIS).strftime("%d/%m/%Y - %H:%M"),
             EVENT_LABELS[e.event]) for e in audit.recent(account.id, limit=50)
            if e.event in EVENT_LABELS][:20]


def check_current_password(account: Account, password: str) -> bool:
    """True when ``password`` is the account's password (same cost when it has none)."""
    return current_app.extensions["idp"].passwords.verify(account.password_hash, password or "")


def email_change_problems(account: Account, form) -> dict[str, str]:
    """French messages by field for the e-mail change form."""
    email = parse_email(form.get("new_email", ""))
    if email is None:
        return {"new_email": MSG_EMAIL}
    if parse_email(form.get("new_email_confirm", "")) != email:
        return {"new_email_confirm": MSG_EMAIL_CONFIRM}
    if email == account.email:
        return {"new_email": MSG_SAME_EMAIL}
    if not check_current_password(account, form.get("current_password", "")):
        return {"current_password": MSG_CURRENT_PASSWORD}
    return {}


def request_email_change(account: Account, new_email: str) -> None:
    """Send the validation link to the new address and a notice to the old one."""
    settings = current_app.config["IDP_SETTINGS"]
    links.invalidate(account.id, EMAIL_CHANGE)
    token = links.issue(account.id, EMAIL_CHANGE, settings.email_validation_ttl, new_email)
    audit.record("email_change_requested", account.id, "email")
    notifications.email_change_link(account, new_email,
                                    settings.issuer + EMAIL_CHANGE_PATH + token,
                                    settings.email_validation_ttl // 3600)
    if account.email:
        notifications.email_change_notice(account, new_email)


def confirm_email_change(token: str) -> str:
    """Follow the new address's link: "changed", "used", "expired" or "unknown"."""
    status, row = links.lookup(token, EMAIL_CHANGE)
    if status != "valid":
        return status
    account = db.session.get(Account, row.account_id)
    if account is None or not links.consume(row):
        db.session.rollback()
        return "used"
    account.email = row.email
    account.email_verified = True
    audit.record("email_changed", account.id, "email")
    return "changed"


def set_login_notifications(account: Account, enabled: bool) -> None:
    """« Paramètres de compte »: the login notification switch."""
    if account.login_notifications != enabled:
        account.login_notifications = enabled
        audit.record("settings_changed", account.id, "account", login_notifications=enabled)
