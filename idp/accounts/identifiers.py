"""Login identifiers: classify, normalise and check what a person types.

An identifier is an e-mail, a numéro Assurance Maladie (9 digits) or a FINESS
number (9 characters, Luhn key, 2A/2B for Corsica). See docs/domain.md §2.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# RFC 5321 limits an address to 254 characters; nothing we accept is longer.
MAX_IDENTIFIER_LENGTH = 254

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s]{2,}$")
_AM = re.compile(r"^\d{9}$")
_FINESS = re.compile(r"^(\d{2}|2A|2B)\d{7}$")
_RPPS = re.compile(r"^\d{11}$")


class IdentifierError(ValueError):
    """The typed identifier is malformed; the message is French, for the user."""


@dataclass(frozen=True)
class ParsedIdentifier:
    """A normalised identifier and the kinds of account identifier it may be."""

    value: str
    kinds: tuple[str, ...]  # ("email",) or ("am", "finess") or ("finess",)


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        n = int(char)
        if position % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def finess_key_valid(finess: str) -> bool:
    """Luhn over the 9 characters of a FINESS, with 2A→21 and 2B→22 (Corsica)."""
    digits = finess.replace("2A", "21", 1) if finess.startswith("2A") else finess
    digits = digits.replace("2B", "22", 1) if digits.startswith("2B") else digits
    return digits.isdigit() and luhn_valid(digits)


def rpps_valid(rpps: str) -> bool:
    """An RPPS number: 11 digits with a Luhn key."""
    return bool(_RPPS.match(rpps)) and luhn_valid(rpps)


def normalise_email(raw: str) -> str:
    """NFKC, trimmed and case-folded, so that any spelling finds the same account."""
    return unicodedata.normalize("NFKC", raw).strip().casefold()


def parse_login_identifier(raw: str, *, check_finess_key: bool = True) -> ParsedIdentifier:
    """Classify what was typed in « E-mail, N° Assurance Maladie ou N° FINESS »."""
    if raw is None or not raw.strip():
        raise IdentifierError("Saisissez votre e-mail, votre N° Assurance Maladie ou votre N° FINESS.")
    if len(raw) > MAX_IDENTIFIER_LENGTH:
        raise IdentifierError(
            f"L'identifiant ne doit pas dépasser {MAX_IDENTIFIER_LENGTH} caractères.")
    text = unicodedata.normalize("NFKC", raw).strip()
    if "@" in text:
        email = normalise_email(text)
        if not _EMAIL.match(email):
            raise IdentifierError("L'adresse e-mail n'est pas valide (exemple : nom@domaine.fr).")
        return ParsedIdentifier(email, ("email",))
    # People copy numbers as printed, with spaces: ignore them.
    compact = re.sub(r"\s+", "", text).upper()
    if _AM.match(compact):
        # Nine digits may be a numéro AM or a FINESS: both are looked up.
        kinds = ("am", "finess") if (not check_finess_key or finess_key_valid(compact)) else ("am",)
        return ParsedIdentifier(compact, kinds)
    if _FINESS.match(compact):
        if check_finess_key and not finess_key_valid(compact):
            raise IdentifierError("Le N° FINESS saisi n'est pas valide : vérifiez la clé (9 caractères).")
        return ParsedIdentifier(compact, ("finess",))
    raise IdentifierError(
        "Identifiant non reconnu : saisissez une adresse e-mail, un N° Assurance Maladie "
        "(9 chiffres) ou un N° FINESS (9 caractères).")
