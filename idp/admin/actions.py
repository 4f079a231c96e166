"""Back-office actions on professionals, centres and accounts; each one is an audit event
naming the adviser who did it.
"""

from __future__ import annotations

import re
from datetime import date

from flask import current_app
from sqlalchemy import or_, select

from idp.accounts import audit, signup
from idp.extensions import db
from idp.models import Account, AdminAccount, Enrollment, Establishment, Identifier, Professional
from idp.referentials.finess import CENTRE_DE_SANTE

SEARCH_LIMIT = 50
PROFESSIONS = {"10": "Médecin", "60": "Infirmier"}


class ActionError(ValueError):
    """The action cannot be done; ``field`` names the form field the French message is for."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _record(event: str, admin: AdminAccount, account_id: int | None, **details) -> None:
    audit.record(event, account_id, "admin", admin=admin.username, **details)


def search(query: str) -> list[Professional]:
    """Professionals of the referential by RPPS, numéro AM (of their account) or name."""
    query = " ".join(query.split())[:100]
    if not query:
        return []
    if query.isdigit():
        rpps_of_am = select(Identifier.value).where(
            Identifier.kind == "rpps", Identifier.account_id.in_(
                select(Identifier.account_id).where(Identifier.kind == "am",
                                                    Identifier.value == query)))
        condition = or_(Professional.identifier == query,
                        Professional.identifier.in_(rpps_of_am))
    else:
        condition = Professional.family_name.ilike(f"{query.split()[0]}%")
    return db.session.scalars(select(Professional).where(condition)
                              .order_by(Professional.family_name, Professional.given_name)
                              .limit(SEARCH_LIMIT)).all()


def account_of(person: Professional) -> Account | None:
    """The account holding this professional's RPPS or ADELI number."""
    kind = "rpps" if person.id_type == "8" else "adeli"
    return db.session.scalar(select(Account).join(Identifier).where(
        Identifier.kind == kind, Identifier.value == person.identifier))


def enrollments_of_person(person: Professional) -> list[Enrollment]:
    """The professional's enrollments, current first."""
    return db.session.scalars(select(Enrollment).where(Enrollment.person_id == person.identifier)
                              .order_by(Enrollment.end_date.is_not(None),
                                        Enrollment.start_date.desc())).all()


def _current():
    """Enrollments in force today or later: not ended, or ending after today (the claims rule)."""
    return or_(Enrollment.end_date.is_(None), Enrollment.end_date > date.today())


def staff(finess: str) -> list[tuple[Enrollment, Professional | None]]:
    """A centre's enrolled professionals (current ones)."""
    rows = db.session.scalars(select(Enrollment).where(Enrollment.finess == finess, _current())
                              .order_by(Enrollment.start_date)).all()
    return [(e, db.session.scalar(select(Professional).where(
        Professional.identifier == e.person_id))) for e in rows]


def _parse_date(raw: str, field: str) -> date:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        raise ActionError(field, "Saisissez une date valide (jj/mm/aaaa).") from None


def enroll(admin: AdminAccount, person: Professional, form) -> Enrollment:
    """Enroll a salaried professional in a centre de santé (FINESS, profession, start date)."""
    finess = "".join(form.get("finess", "").split()).upper()[:9]
    centre = db.session.get(Establishment, finess) if re.match(r"^\w{9}$", finess) else None
    if centre is None or centre.category != CENTRE_DE_SANTE:
        raise ActionError("finess", "Ce N° FINESS n'est pas celui d'un centre de santé du "
                                    "référentiel.")
    profession = form.get("profession", "")
    if profession not in PROFESSIONS:
        raise ActionError("profession", "Choisissez la profession (médecin ou infirmier).")
    start = _parse_date(form.get("start_date", ""), "start_date")
    if db.session.scalar(select(Enrollment.id).where(
            Enrollment.person_id == person.identifier, Enrollment.finess == finess,
            _current())):
        raise ActionError("finess", "Ce professionnel est déjà inscrit dans ce centre.")
    enrollment = Enrollment(person_kind="rpps" if person.id_type == "8" else "adeli",
                            person_id=person.identifier, finess=finess,
                            profession_code=profession, start_date=start,
                            created_by=admin.username)
    db.session.add(enrollment)
    account = account_of(person)
    _record("enrollment_added", admin, account.id if account else None,
            person=person.identifier, finess=finess, profession=profession,
            start_date=start.isoformat())
    return enrollment


def end_enrollment(admin: AdminAccount, enrollment: Enrollment, raw_date: str) -> None:
    """End an enrollment on a date (not before its start)."""
    if enrollment.end_date is not None:
        raise ActionError("end_date", "Cette inscription a déjà une date de fin.")
    end = _parse_date(raw_date, "end_date")
    if end < enrollment.start_date:
        raise ActionError("end_date", "La date de fin est antérieure à la date de début.")
    enrollment.end_date = end
    enrollment.ended_by = admin.username
    person = db.session.scalar(select(Professional).where(
        Professional.identifier == enrollment.person_id))
    account = account_of(person) if person else None
    _record("enrollment_ended", admin, account.id if account else None,
            person=enrollment.person_id, finess=enrollment.finess, end_date=end.isoformat())


def unlock(admin: AdminAccount, account: Account) -> None:
    """Lift a lock and a password disabled after too many failures."""
    lockout = current_app.extensions["idp"].lockout
    lockout.clear(lockout.subject_for_account(account.id))
    account.password_disabled = False
    account.consecutive_failures = 0
    _record("account_unlocked", admin, account.id)


def resend_letter(admin: AdminAccount, account: Account) -> None:
    """Post a new provisional password to a centre (the old one stops working)."""
    finess = account.identifier_values("finess")
    establishment = db.session.get(Establishment, finess[0]) if finess else None
    if account.kind != "centre" or establishment is None:
        raise ActionError("form", "Seul le compte d'un centre de santé du référentiel reçoit "
                                  "un courrier.")
    signup.post_new_letter(account, establishment)
    _record("provisional_password_sent", admin, account.id)
