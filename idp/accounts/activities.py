"""What an account stands for in amelipro: a centre, or a professional and their activities.

The source of truth is the referentials (FINESS, RPPS) plus the CPAM's
enrollments: a salaried activity in a centre de santé exists for the IdP only
while an enrollment made by the CIS is active, whatever the RPPS says. Libéral
activities come from the RPPS with the account's numéros AM (the CNAM does not
publish those).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from idp.extensions import db
from idp.models import Account, Enrollment, Establishment, Professional, ProfessionalActivity

PARIS = ZoneInfo("Europe/Paris")
SECTOR_CENTRE = "SA05"  # TRE_R02: centre de santé
DIRECTOR_FUNCTION = "FON-09"  # TRE_R21: responsable d'établissement


@dataclass(frozen=True)
class Centre:
    """A health centre as its account represents it."""

    finess: str
    finess_ej: str | None
    name: str
    address_lines: tuple[str, ...]
    postal_code: str | None
    town: str | None
    department: str | None
    caisse_code: str | None
    caisse_label: str | None


@dataclass(frozen=True)
class Activity:
    """A practice of a professional: libéral (L) or salaried in a centre (S)."""

    mode: str
    name: str
    structure_id: str
    sector: str | None
    am_number: str | None = None
    finess_site: str | None = None
    finess_ej: str | None = None
    street: str | None = None
    postal_code: str | None = None
    town: str | None = None
    start_date: date | None = None


@dataclass(frozen=True)
class Person:
    """A professional's identity from the RPPS (or the account when unknown there)."""

    national_id: str | None
    id_origin: str | None  # "RPPS" | "ADELI"
    given_name: str | None
    family_name: str | None
    civility: str | None  # M, MME
    exercise_civility: str | None  # DR, PR... (civilité d'exercice)
    profession_code: str | None
    profession_label: str | None
    skill_type: str | None
    skill_code: str | None
    category_code: str | None


PROFESSIONS = {"10": "Médecin", "40": "Chirurgien-dentiste", "50": "Sage-femme",
               "60": "Infirmier"}


def today() -> date:
    """Today in France (enrollment dates are French calendar days)."""
    return datetime.now(PARIS).date()


def _caisse(department: str | None) -> tuple[str | None, str | None]:
    # The FINESS file does not say which caisse manages a site: by convention the
    # CPAM of its department, numbered <department>1 (e.g. 751 Paris, 931 Bobigny).
    if not department:
        return None, None
    return f"{department}1", f"CPAM du département {department}"


def centre_of(account: Account) -> Centre | None:
    """The centre of a centre account, from the FINESS referential."""
    if account.kind != "centre":
        return None
    for finess in account.identifier_values("finess"):
        row = db.session.get(Establishment, finess)
        if row is None:
            continue
        code, label = _caisse(row.department)
        postal_code, _, town = (row.postal_line or "").partition(" ")
        return Centre(row.finess, row.finess_ej, row.long_name or row.name,
                      tuple(row.address_lines()), postal_code or None, town or None,
                      row.department, code, label)
    return None


def _national_ids(account: Account) -> list[str]:
    return ([f"8{v}" for v in account.identifier_values("rpps")]
            + [f"0{v}" for v in account.identifier_values("adeli")])


def person_of(account: Account) -> Person | None:
    """The professional behind a PS account."""
    if account.kind != "ps":
        return None
    ids = _national_ids(account)
    row = db.session.get(Professional, ids[0]) if ids else None
    first = db.session.scalars(select(ProfessionalActivity).where(
        ProfessionalActivity.national_id.in_(ids)).limit(1)).first() if ids else None
    code = (row.profession_code if row else None) or account.profession_code
    return Person(
        national_id=ids[0] if ids else None,
        id_origin=("RPPS" if ids[0].startswith("8") else "ADELI") if ids else None,
        given_name=(row.given_name if row else None) or account.given_name,
        family_name=(row.family_name if row else None) or account.family_name,
        civility=row.civility_code if row else None,
        exercise_civility=row.exercise_civility_code if row else None, profession_code=code,
        profession_label=(row.profession_label if row else None) or PROFESSIONS.get(code or ""),
        skill_type="S" if first and first.skill_code else None,
        skill_code=first.skill_code if first else None, category_code="C" if row else None)


def activities_of(account: Account, on: date | None = None) -> list[Activity]:
    """Libéral activities, then salaried ones backed by an active enrollment."""
    if account.kind != "ps":
        return []
    return _liberal(account) + _salaried(account, on or today())


def _liberal(account: Account) -> list[Activity]:
    ids = _national_ids(account)
    rows = db.session.scalars(select(ProfessionalActivity).where(
        ProfessionalActivity.national_id.in_(ids), ProfessionalActivity.mode_code == "L")
        .order_by(ProfessionalActivity.id)).all() if ids else []
    am_numbers = account.identifier_values("am")
    activities = []
    for index, row in enumerate(rows):
        # One numéro AM per libéral practice, in the order they were registered.
        am = am_numbers[index] if index < len(am_numbers) else None
        activities.append(Activity("L", row.site_name or "Cabinet", row.structure_id or "",
                                   row.sector_code, am_number=am, street=row.street_line(),
                                   postal_code=row.postal_code, town=row.town))
    for am in am_numbers[len(rows):]:
        activities.append(Activity("L", "Cabinet", f"R{am}", None, am_number=am))
    return activities


def _salaried(account: Account, on: date) -> list[Activity]:
    people = ([("rpps", v) for v in account.identifier_values("rpps")]
              + [("adeli", v) for v in account.identifier_values("adeli")]
              + [("am", v) for v in account.identifier_values("am")])
    if not people:
        return []
    who = or_(*[(Enrollment.person_kind == k) & (Enrollment.person_id == v) for k, v in people])
    rows = db.session.scalars(select(Enrollment).where(
        who, Enrollment.start_date <= on,
        or_(Enrollment.end_date.is_(None), Enrollment.end_date > on))
        .order_by(Enrollment.start_date)).all()
    activities = []
    for enrollment in rows:
        site = db.session.get(Establishment, enrollment.finess)
        postal_code, _, town = ((site.postal_line if site else "") or "").partition(" ")
        activities.append(Activity(
            "S", (site.long_name or site.name) if site else enrollment.finess,
            f"F{enrollment.finess}", SECTOR_CENTRE, finess_site=enrollment.finess,
            finess_ej=site.finess_ej if site else None,
            street=" ".join(site.address_lines()[:-1]) if site else None,
            postal_code=postal_code or None, town=town or None, start_date=enrollment.start_date))
    return activities
