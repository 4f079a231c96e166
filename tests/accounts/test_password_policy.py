"""Password policy for new passwords: composition, length, blocklist, identifiers."""

import importlib.resources

import pytest

from idp.accounts import password_policy
from idp.accounts.password_policy import (
    MAX_LENGTH,
    MIN_LENGTH,
    is_blocklisted,
    password_problems,
)

TOO_SHORT = "Le mot de passe doit contenir au moins 8 caractères."
TOO_LONG = "Le mot de passe ne doit pas dépasser 256 caractères."
CASE = "Le mot de passe doit contenir des majuscules et des minuscules."
DIGIT = "Le mot de passe doit contenir au moins un chiffre."
SPECIAL = "Le mot de passe doit contenir au moins un caractère spécial (dollar, dièse, ...)."
BLOCKLISTED = (
    "Ce mot de passe est trop courant ou figure dans des listes de mots de passe "
    "divulgués : choisissez-en un autre."
)
IDENTIFIER = (
    "Le mot de passe ne doit pas contenir votre identifiant "
    "(e-mail, N° Assurance Maladie ou FINESS)."
)

STRONG = "Xq7#vLm2!pZ"


def blocklist_entries() -> list[str]:
    """Entries of the shipped data file, comments left out."""
    path = importlib.resources.files("idp") / "data" / "password_blocklist.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_limits():
    assert (MIN_LENGTH, MAX_LENGTH) == (8, 256)


def test_strong_random_password_accepted():
    assert password_problems(STRONG) == []
    assert not is_blocklisted(STRONG)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Xq7#vL", TOO_SHORT),
        ("xq7#vlm2!pz", CASE),
        ("XQ7#VLM2!PZ", CASE),
        ("Xqh#vLmw!pZ", DIGIT),
        ("Xq7kvLm2wpZ", SPECIAL),
    ],
)
def test_each_composition_rule_has_its_own_message(password, message):
    assert password_problems(password) == [message]


def test_every_failed_rule_is_reported():
    assert password_problems("abc") == [TOO_SHORT, CASE, DIGIT, SPECIAL]


def test_unicode_letters_and_spaces():
    # "é" is a lower-case letter and a space is a special character.
    assert password_problems("Éléphant 7 Rose") == []
    assert password_problems("ÉLÉPHANT 7 ROSE") == [CASE]


def test_passphrase_of_64_characters_and_more_accepted():
    passphrase = "Le Petit Chat Boit 3 Bols De Lait Chaque Matin ! Vraiment tres bon"
    assert len(passphrase) >= 64
    assert password_problems(passphrase) == []


def test_maximum_length():
    at_limit = (STRONG * 30)[:MAX_LENGTH]
    assert password_problems(at_limit) == []
    assert password_problems(at_limit + "x") == [TOO_LONG]


@pytest.mark.parametrize(
    "password",
    ["Azerty123!", "P@ssw0rd1!", "Soleil2024!", "Marseille13!", "!!Soleil2024", "Infirmière2024!"],
)
def test_decorated_common_passwords_refused(password):
    assert is_blocklisted(password)
    assert password_problems(password) == [BLOCKLISTED]


@pytest.mark.parametrize("password", ["S0l3il2024!", "M@rs3ill3!13", "Ch0c0l4t#1", "4zerty!!"])
def test_leetspeak_undone(password):
    assert is_blocklisted(password)


@pytest.mark.parametrize("password", ["azerty", "AZERTY", "motdepasse", "amelipro", "p@ssw0rd"])
def test_plain_common_passwords_blocklisted(password):
    assert is_blocklisted(password)


@pytest.mark.parametrize("password", [STRONG, "Cat1!xY9zQ", "Kj8$mW2qLp", "Zq9!fun"])
def test_strong_passwords_not_blocklisted(password):
    # Decoration stripping must not reduce these to a common word, nor short endings count.
    assert not is_blocklisted(password)


def test_base_words_shorter_than_four_characters_ignored(monkeypatch):
    monkeypatch.setattr(password_policy, "_blocklist", lambda: frozenset({"sun", "kiwi"}))
    assert not is_blocklisted("8#2!Sun?71")
    assert is_blocklisted("8#2!Kiwi?71")


@pytest.mark.parametrize(
    ("password", "identifiers"),
    [
        ("Jean.Dupont7!", ["jean.dupont@example.fr"]),
        ("Xq!123456789z", ["123456789"]),
        ("Xq!1234 56789z", ["1 23 45 67 89"]),
        ("Xq!2a0000012z", ["2A0000012"]),
        ("Xq!2A0000012z", ["2a0000012"]),
    ],
)
def test_identifier_inside_refused(password, identifiers):
    assert password_problems(password, identifiers) == [IDENTIFIER]


def test_short_identifiers_ignored():
    assert password_problems("Xq7#vLm2!pZ", ["q7#", "xq@example.fr", "", "pZ"]) == []


def test_unrelated_identifiers_accepted():
    assert password_problems(STRONG, ["jean.dupont@example.fr", "123456789"]) == []


def test_shipped_blocklist():
    entries = blocklist_entries()
    assert len(entries) >= 10_000
    assert all(entry == entry.lower() for entry in entries)
    for word in ("azerty", "soleil", "doudou", "marseille", "motdepasse", "amelipro"):
        assert word in entries
