"""The public RPPS extract of professionals and activities (``PS_LibreAcces_Personne_activite``).

Layout (docs/referentials.md): ``|``-separated, no quoting, a header line,
every line ends with ``|``; one line per professional and activity site; 56
columns (52 in older files).
"""

from __future__ import annotations

import hashlib
import re

from idp.accounts.identifiers import rpps_valid
from idp.referentials.finess import valid_finess
from idp.referentials.reader import LineError

HEADER_START = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|"
COLUMN_COUNTS = (52, 56)

# Column positions (0-based) of the fields the IdP keeps.
ID_TYPE, ID_PP, ID_NAT = 0, 1, 2
EXERCISE_CIVILITY_CODE, EXERCISE_CIVILITY_LABEL, CIVILITY_CODE, CIVILITY_LABEL = 3, 4, 5, 6
FAMILY_NAME, GIVEN_NAME = 7, 8
PROFESSION_CODE, PROFESSION_LABEL = 9, 10
SKILL_CODE, SKILL_LABEL = 15, 16
MODE_CODE, MODE_LABEL = 17, 18
FINESS_SITE, FINESS_EJ, STRUCTURE_ID, SITE_NAME = 21, 22, 23, 24
STREET_NUMBER, STREET_REPEAT, STREET_TYPE, STREET = 28, 29, 31, 32
DISTRIBUTION, CEDEX_OFFICE, POSTAL_CODE, TOWN = 33, 34, 35, 37
PHONE, DEPARTMENT, DEPARTMENT_LABEL = 40, 44, 45
SECTOR_CODE, SECTOR_LABEL = 48, 49
ROLE_CODE = 52

_ADELI = re.compile(r"^[0-9A-Z]{9}$")


def check_header(text: str) -> None:
    """Refuse a file that does not start with the RPPS header line."""
    if not text.startswith(HEADER_START):
        raise LineError("not an RPPS PS_LibreAcces_Personne_activite extract (header expected)")


def _fields(text: str) -> list[str]:
    if not text.endswith("|"):
        raise LineError("line does not end with '|'")
    fields = text[:-1].split("|")
    if len(fields) not in COLUMN_COUNTS:
        raise LineError(f"{len(fields)} columns instead of 56 (or 52)")
    return [f.strip() for f in fields]


def _check_person(f: list[str]) -> None:
    kind, identifier, national = f[ID_TYPE], f[ID_PP], f[ID_NAT]
    if kind == "8" and not rpps_valid(identifier):
        raise LineError(f"invalid RPPS {identifier[:12]!r}")
    if kind == "0" and not _ADELI.match(identifier):
        raise LineError(f"invalid ADELI {identifier[:12]!r}")
    if kind not in ("0", "8"):
        raise LineError(f"unknown identifier type {kind[:4]!r}")
    if national != kind + identifier:
        raise LineError("national identifier is not type + identifier")
    if not f[FAMILY_NAME]:
        raise LineError("empty family name")


def parse(text: str, check_key: bool = True) -> tuple[dict, dict]:
    """One line as (professional columns, activity columns)."""
    f = _fields(text)
    _check_person(f)
    for position in (FINESS_SITE, FINESS_EJ):
        if f[position] and not valid_finess(f[position], check_key):
            raise LineError(f"invalid FINESS {f[position][:12]!r}")
    national = f[ID_NAT]
    role = f[ROLE_CODE] if len(f) > ROLE_CODE else ""
    key_parts = (national, f[PROFESSION_CODE], f[MODE_CODE], f[STRUCTURE_ID], f[FINESS_SITE],
                 f[SKILL_CODE], f[SECTOR_CODE], role)
    person = {"national_id": national, "id_type": f[ID_TYPE], "identifier": f[ID_PP],
              "exercise_civility_code": f[EXERCISE_CIVILITY_CODE] or None,
              "exercise_civility_label": f[EXERCISE_CIVILITY_LABEL] or None,
              "civility_code": f[CIVILITY_CODE] or None,
              "civility_label": f[CIVILITY_LABEL] or None, "family_name": f[FAMILY_NAME],
              "given_name": f[GIVEN_NAME] or None, "profession_code": f[PROFESSION_CODE] or None,
              "profession_label": f[PROFESSION_LABEL] or None}
    activity = {"key": hashlib.sha1("|".join(key_parts).encode(), usedforsecurity=False)
                .hexdigest(),
                "national_id": national, "profession_code": f[PROFESSION_CODE] or None,
                "skill_code": f[SKILL_CODE] or None, "skill_label": f[SKILL_LABEL] or None,
                "mode_code": f[MODE_CODE] or None, "mode_label": f[MODE_LABEL] or None,
                "finess_site": f[FINESS_SITE] or None, "finess_ej": f[FINESS_EJ] or None,
                "structure_id": f[STRUCTURE_ID] or None, "site_name": f[SITE_NAME] or None,
                "street_number": f[STREET_NUMBER] or None,
                "street_repeat": f[STREET_REPEAT] or None, "street_type": f[STREET_TYPE] or None,
                "street": f[STREET] or None, "distribution": f[DISTRIBUTION] or None,
                "cedex_office": f[CEDEX_OFFICE] or None, "postal_code": f[POSTAL_CODE] or None,
                "town": f[TOWN] or None, "phone": f[PHONE] or None,
                "department": f[DEPARTMENT] or None,
                "department_label": f[DEPARTMENT_LABEL] or None,
                "sector_code": f[SECTOR_CODE] or None, "sector_label": f[SECTOR_LABEL] or None}
    return person, activity
