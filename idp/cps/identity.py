"""Who a card certificate names: the national id (idNat) and the holder's names.

Current layout: ``CN=<idNat>+SN=<surname>+GN=<given name>, title=<profession>, C=FR``.
Older cards: ``CN=<name>, serialNumber=<idNat>, OU=<profession>, O=<structure>``.
The idNat of a person is ``8`` + RPPS (11 digits with a Luhn key) or ``0`` + ADELI
(9 characters); anything else names no professional we can map.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from idp.accounts.identifiers import rpps_valid
from idp.cps import errors

_ADELI = re.compile(r"^[0-9][0-9AB][0-9]{7}$")

# Profession wording of certificates → TRE_G15 code of the account.
PROFESSION_CODES = {"médecin": "10", "pharmacien": "21", "chirurgien-dentiste": "40",
                    "sage-femme": "50", "infirmier": "60", "infirmière": "60",
                    "masseur-kinésithérapeute": "70"}


@dataclass(frozen=True)
class CardIdentity:
    """The professional a card names."""

    id_nat: str
    kind: str  # "rpps" | "adeli": the account identifier kind it maps to
    number: str
    family_name: str | None
    given_name: str | None
    profession: str | None

    @property
    def profession_code(self) -> str | None:
        """The TRE_G15 code of the profession, when the wording is known."""
        return PROFESSION_CODES.get((self.profession or "").strip().casefold())

    @property
    def display_name(self) -> str:
        """« Prénom NOM » as pages show it."""
        return " ".join(x for x in (self.given_name, self.family_name) if x)


def parse_id_nat(value: str) -> tuple[str, str] | None:
    """(kind, number) of a person's idNat, or None."""
    value = (value or "").strip().upper()
    if value.startswith("8") and rpps_valid(value[1:]):
        return "rpps", value[1:]
    if value.startswith("0") and _ADELI.match(value[1:]):
        return "adeli", value[1:]
    return None


def _first(name: x509.Name, oid) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value).strip() if values else None


def identity_from_certificate(cert: x509.Certificate) -> CardIdentity:
    """The identity of the holder; NO_IDENTITY when the subject names no professional."""
    subject = cert.subject
    common_name = _first(subject, NameOID.COMMON_NAME) or ""
    parsed = parse_id_nat(common_name)
    if parsed is not None:
        return CardIdentity(common_name.upper(), *parsed, _first(subject, NameOID.SURNAME),
                            _first(subject, NameOID.GIVEN_NAME), _first(subject, NameOID.TITLE))
    serial = _first(subject, NameOID.SERIAL_NUMBER) or ""
    parsed = parse_id_nat(serial)
    if parsed is None:
        raise errors.reject(errors.NO_IDENTITY)
    # Older layout: one "GIVEN NAME SURNAME" common name; the last word is the surname.
    given, _, family = common_name.rpartition(" ")
    return CardIdentity(serial.upper(), *parsed, family or None, given or None,
                        _first(subject, NameOID.ORGANIZATIONAL_UNIT_NAME))
