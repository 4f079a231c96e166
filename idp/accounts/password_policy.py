"""Rules a new password must satisfy, with French reasons for each refusal.

Composition rules come from the amelipro login page; they are hardened with a
length ceiling, a blocklist of common and breached passwords (see
``scripts/build_password_blocklist.py``) and a ban on the account's own identifiers.
"""

from __future__ import annotations

import functools
import importlib.resources
import unicodedata
from collections.abc import Iterable, Iterator

MIN_LENGTH = 8
# Hashing cost grows with input size, so an unbounded password is a cheap DoS lever;
# 256 still leaves ample room for long passphrases.
MAX_LENGTH = 256

# Blocklist entries and decorated base words shorter than this are ignored: a strong
# random password must not be refused because it happens to end in "cat" or "sun".
MIN_BASE_LENGTH = 4

MSG_TOO_SHORT = f"Le mot de passe doit contenir au moins {MIN_LENGTH} caractères."
MSG_TOO_LONG = f"Le mot de passe ne doit pas dépasser {MAX_LENGTH} caractères."
MSG_CASE = "Le mot de passe doit contenir des majuscules et des minuscules."
MSG_DIGIT = "Le mot de passe doit contenir au moins un chiffre."
MSG_SPECIAL = "Le mot de passe doit contenir au moins un caractère spécial (dollar, dièse, ...)."
MSG_BLOCKLISTED = (
    "Ce mot de passe est trop courant ou figure dans des listes de mots de passe "
    "divulgués : choisissez-en un autre."
)
MSG_IDENTIFIER = (
    "Le mot de passe ne doit pas contenir votre identifiant "
    "(e-mail, N° Assurance Maladie ou FINESS)."
)

# "1" stands for both "i" and "l", hence two tables; each maps the usual leetspeak digits
# and symbols back to the letters users meant.
_UNLEET = tuple(
    str.maketrans({"4": "a", "@": "a", "3": "e", "1": one, "0": "o", "$": "s", "5": "s", "7": "t"})
    for one in ("i", "l")
)


@functools.cache
def _blocklist() -> frozenset[str]:
    """Blocklist shipped as package data, read once per process."""
    path = importlib.resources.files("idp") / "data" / "password_blocklist.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _fold_accents(text: str) -> str:
    """Text without combining accents, so "Santé" matches the entry "sante"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _trim(text: str, leading: bool = True) -> str:
    """Text without the non-letters (digits, punctuation, spaces, symbols) at its edges."""
    # Trailing-only trimming (leading=False) keeps a leading leet "4" or "@" for undoing.
    # A plain scan rather than a regex: linear time whatever the input.
    start, end = 0, len(text)
    while leading and start < end and not text[start].isalpha():
        start += 1
    while end > start and not text[end - 1].isalpha():
        end -= 1
    return text[start:end]


def _variants(password: str) -> Iterator[str]:
    """Whole password and base words that are looked up in the blocklist."""
    text = unicodedata.normalize("NFKC", password).lower()
    forms = {text, _fold_accents(text)}
    # Trim before undoing leetspeak ("P@ssw0rd1!": the trailing "1" is a decoration, not
    # an "i") and after it ("4zerty!": the leading "4" is a letter, not a decoration).
    forms |= {_trim(f, leading) for f in forms for leading in (True, False)}
    forms |= {f.translate(table) for f in forms for table in _UNLEET}
    forms |= {_trim(f, leading) for f in forms for leading in (True, False)}
    return (f for f in forms if len(f) >= MIN_BASE_LENGTH)


def is_blocklisted(password: str) -> bool:
    """True when the password, or its base word without decorations, is common or breached."""
    blocklist = _blocklist()
    return any(form in blocklist for form in _variants(password))


def _identifier_forms(identifiers: Iterable[str]) -> set[str]:
    """Lower-case forms of the identifiers worth looking for inside a password."""
    forms = set()
    for identifier in identifiers:
        text = unicodedata.normalize("NFKC", identifier or "").strip().lower()
        # Numbers (NIR, FINESS, RPPS) are often typed with spaces: compare without them.
        forms |= {text, "".join(text.split())}
        local_part, at, _domain = text.rpartition("@")
        if at:
            forms.add(local_part)
    # Very short identifiers would refuse far too many legitimate passwords.
    return {f for f in forms if len(f) >= MIN_BASE_LENGTH}


def _contains_identifier(password: str, identifiers: Iterable[str]) -> bool:
    """True when one of the identifiers appears in the password, ignoring case and spaces."""
    text = unicodedata.normalize("NFKC", password).lower()
    haystacks = (text, "".join(text.split()))
    return any(form in hay for form in _identifier_forms(identifiers) for hay in haystacks)


def password_problems(password: str, identifiers: Iterable[str] = ()) -> list[str]:
    """French reasons why `password` is refused as a new password; empty when acceptable."""
    if len(password) > MAX_LENGTH:
        # Stop here: the remaining checks would only spend effort on hostile input.
        return [MSG_TOO_LONG]
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(MSG_TOO_SHORT)
    # str methods are Unicode-aware: "é" is lower case, "É" upper case.
    if not (any(c.isupper() for c in password) and any(c.islower() for c in password)):
        problems.append(MSG_CASE)
    if not any(c.isdigit() for c in password):
        problems.append(MSG_DIGIT)
    # Anything that is neither a letter nor a digit counts as special, spaces included.
    if all(c.isalnum() for c in password):
        problems.append(MSG_SPECIAL)
    if _contains_identifier(password, identifiers):
        problems.append(MSG_IDENTIFIER)
    if is_blocklisted(password):
        problems.append(MSG_BLOCKLISTED)
    return problems
