"""The public FINESS extract of establishments (``etalab-cs1100507-stock-*.csv``).

Layout (docs/referentials.md): a marker line ``finess;etalab;<n>;<date>``, then
``structureet`` lines (tag + 31 fields, ``;``-separated, CSV quoting), then
``geolocalisation`` lines, which the IdP does not need.
"""

from __future__ import annotations

import csv
import re

from idp.accounts.identifiers import finess_key_valid
from idp.referentials.reader import LineError

FIELDS = ("nofinesset", "nofinessej", "rs", "rslongue", "complrs", "compldistrib", "numvoie",
          "typvoie", "voie", "compvoie", "lieuditbp", "commune", "departement", "libdepartement",
          "ligneacheminement", "telephone", "telecopie", "categetab", "libcategetab",
          "categagretab", "libcategagretab", "siret", "codeape", "codemft", "libmft", "codesph",
          "libsph", "dateouv", "dateautor", "datemaj", "numuai")
# Centres de santé (seed: the centre accounts).
CENTRE_DE_SANTE = "124"

_FINESS = re.compile(r"^(\d{2}|2A|2B)\d{7}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def split(text: str) -> list[str]:
    """The fields of a line: plain split unless the line uses CSV quoting."""
    if '"' not in text:
        return text.split(";")
    return next(csv.reader([text], delimiter=";"))


def check_marker(text: str) -> None:
    """Refuse a file whose first line is not the etalab marker."""
    if not text.startswith("finess;etalab"):
        raise LineError("not a FINESS etalab extract (first line must start with "
                        "'finess;etalab')")


def valid_finess(value: str, check_key: bool) -> bool:
    """Nine characters (2A/2B for Corsica) and, when checked, a valid Luhn key."""
    return bool(_FINESS.match(value)) and (not check_key or finess_key_valid(value))


def parse(text: str, check_key: bool = True) -> dict | None:
    """One line as establishment columns; None for lines of other kinds (geolocalisation)."""
    fields = split(text)
    if fields[0] != "structureet":
        if fields[0] in ("geolocalisation", ""):
            return None
        raise LineError(f"unknown line type {fields[0][:20]!r}")
    # numuai, the last field, is absent from some extracts.
    if len(fields) not in (len(FIELDS), len(FIELDS) + 1):
        raise LineError(f"{len(fields) - 1} fields instead of {len(FIELDS)}")
    row = dict(zip(FIELDS, (f.strip() for f in fields[1:]), strict=False))
    if not valid_finess(row["nofinesset"], check_key):
        raise LineError(f"invalid FINESS {row['nofinesset'][:12]!r}")
    if row["nofinessej"] and not valid_finess(row["nofinessej"], check_key):
        raise LineError(f"invalid legal-entity FINESS {row['nofinessej'][:12]!r}")
    if not row["rs"]:
        raise LineError("empty raison sociale (rs)")
    if row["categetab"] and not row["categetab"].isdigit():
        raise LineError(f"invalid category {row['categetab'][:12]!r}")
    for name in ("dateouv", "dateautor", "datemaj"):
        if row[name] and not _DATE.match(row[name]):
            raise LineError(f"invalid date {name}={row[name][:12]!r}")
    return {"finess": row["nofinesset"], "finess_ej": row["nofinessej"] or None,
            "name": row["rs"], "long_name": row["rslongue"] or None,
            "complement": row["complrs"] or None, "distribution": row["compldistrib"] or None,
            "street_number": row["numvoie"] or None, "street_type": row["typvoie"] or None,
            "street": row["voie"] or None, "street_repeat": row["compvoie"] or None,
            "locality": row["lieuditbp"] or None, "postal_line": row["ligneacheminement"] or None,
            "department": row["departement"] or None,
            "department_label": row["libdepartement"] or None,
            "phone": row["telephone"] or None, "category": row["categetab"] or None,
            "category_label": row["libcategetab"] or None, "updated_on": row["datemaj"] or None}
