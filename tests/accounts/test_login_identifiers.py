"""Login identifiers: FINESS Luhn key (with Corsica), numéro AM, e-mail normalisation.

The expected values are computed here with an independent Luhn implementation
so that the tests do not trust the code under test (docs/domain.md §2).
"""

import pytest

from idp.accounts.identifiers import (
    MAX_IDENTIFIER_LENGTH,
    IdentifierError,
    finess_key_valid,
    parse_login_identifier,
)

REAL_FINESS = ("060016219", "750712184")


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass Luhn (reference implementation)."""
    total = 0
    # Once the check digit is appended, the last payload digit is doubled.
    for index, char in enumerate(reversed(payload)):
        n = int(char)
        if index % 2 == 0:
            n = n * 2 - 9 if n * 2 > 9 else n * 2
        total += n
    return str((10 - total % 10) % 10)


def corsican_finess(prefix: str, body: str = "000123") -> str:
    """A FINESS of department 2A/2B with a valid key (2A counts as 21, 2B as 22)."""
    numeric = {"2A": "21", "2B": "22"}[prefix]
    return prefix + body + luhn_check_digit(numeric + body)


def with_digit_changed(value: str, position: int = 4) -> str:
    digit = str((int(value[position]) + 1) % 10)
    return value[:position] + digit + value[position + 1:]


def french_error(raw: str, **kwargs) -> str:
    """Parse ``raw``, expecting a refusal; return its message after checking it is French."""
    with pytest.raises(IdentifierError) as info:
        parse_login_identifier(raw, **kwargs)
    message = str(info.value)
    assert message and message[0].isupper() and message.endswith(".")
    assert any(word in message for word in ("Identifiant", "identifiant", "Saisissez",
                                            "adresse e-mail", "FINESS")), message
    return message


def test_reference_luhn_agrees_with_published_finess():
    for finess in REAL_FINESS:
        assert luhn_check_digit(finess[:-1]) == finess[-1]


@pytest.mark.parametrize("finess", REAL_FINESS)
def test_real_finess_numbers_are_valid(finess):
    assert finess_key_valid(finess)
    parsed = parse_login_identifier(finess)
    assert parsed.value == finess
    # Nine digits may also be a numéro AM: both kinds are looked up.
    assert set(parsed.kinds) == {"am", "finess"}


@pytest.mark.parametrize("finess", REAL_FINESS)
@pytest.mark.parametrize("position", [0, 4, 8])
def test_one_changed_digit_breaks_the_finess_key(finess, position):
    changed = with_digit_changed(finess, position)
    assert not finess_key_valid(changed)
    # Still nine digits, so still a possible numéro AM, but never looked up as a FINESS.
    assert parse_login_identifier(changed).kinds == ("am",)


@pytest.mark.parametrize("prefix", ["2A", "2B"])
def test_corsican_finess_uses_21_and_22_for_the_key(prefix):
    finess = corsican_finess(prefix)
    assert finess_key_valid(finess)
    parsed = parse_login_identifier(finess)
    assert parsed == parsed.__class__(finess, ("finess",))
    # Lower case as typed on a phone is the same number.
    assert parse_login_identifier(finess.lower()).value == finess


def test_corsican_prefixes_are_not_interchangeable():
    valid_2a = corsican_finess("2A")
    as_2b = "2B" + valid_2a[2:]
    assert not finess_key_valid(as_2b)
    message = french_error(as_2b)
    assert "FINESS" in message and "clé" in message


def test_corsican_finess_with_a_wrong_key_is_refused_in_french():
    message = french_error(with_digit_changed(corsican_finess("2A"), 5))
    assert message == "Le N° FINESS saisi n'est pas valide : vérifiez la clé (9 caractères)."


def test_numero_am_is_nine_digits_without_key():
    # 123456789 fails Luhn: it is a numéro AM only.
    parsed = parse_login_identifier("123456789")
    assert parsed.value == "123456789"
    assert parsed.kinds == ("am",)


@pytest.mark.parametrize("raw", ["12345678", "1234567890", "12345678X"])
def test_numbers_of_the_wrong_length_are_refused(raw):
    assert "Identifiant non reconnu" in french_error(raw)


@pytest.mark.parametrize("raw", ["750 712 184", " 750712184 ", "750\t712\t184",
                                 "750\u00a0712\u00a0184", "75 07 12 18 4"])
def test_spaces_inside_numbers_are_ignored(raw):
    parsed = parse_login_identifier(raw)
    assert parsed.value == "750712184"
    assert set(parsed.kinds) == {"am", "finess"}


@pytest.mark.parametrize("raw", [
    "kit.doc@example.fr",
    "KIT.Doc@Example.FR",
    "  Kit.Doc@example.fr  ",
    # Fullwidth forms, as some keyboards and copy-pastes produce them.
    "\uff4b\uff49\uff54\uff0e\uff44\uff4f\uff43\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c"
    "\uff45\uff0e\uff46\uff52",
    "KIT.DOC\uff20EXAMPLE.FR",
])
def test_email_is_case_insensitive_and_nfkc_normalised(raw):
    assert parse_login_identifier(raw) == parse_login_identifier("kit.doc@example.fr")
    assert parse_login_identifier(raw).value == "kit.doc@example.fr"
    assert parse_login_identifier(raw).kinds == ("email",)


def test_longest_acceptable_email_passes():
    email = "a" * 64 + "@" + "b" * (MAX_IDENTIFIER_LENGTH - 64 - 1 - 3) + ".fr"
    assert len(email) == MAX_IDENTIFIER_LENGTH == 254
    assert parse_login_identifier(email).value == email


@pytest.mark.parametrize("raw", [
    "a" * 64 + "@" + "b" * 187 + ".fr",        # 255 characters
    "x" * 10_000,
    " " * 250 + "kit.doc@example.fr",          # would be a real e-mail once trimmed
    " " * 250 + "750712184",
])
def test_overlong_input_is_refused_in_french(raw):
    assert len(raw) > MAX_IDENTIFIER_LENGTH
    assert french_error(raw) == "L'identifiant ne doit pas dépasser 254 caractères."


@pytest.mark.parametrize("raw", ["hello", "12345", "<script>alert(1)</script>", "DROP TABLE",
                                 "75-07-12-18-4", "\u0000\u0001"])
def test_garbage_is_refused_in_french(raw):
    assert french_error(raw).startswith("Identifiant non reconnu : saisissez une adresse e-mail")


@pytest.mark.parametrize("raw", ["kit.doc@", "@example.fr", "kit doc@example.fr",
                                 "kit@doc@example.fr", "kit.doc@example"])
def test_malformed_email_is_refused_in_french(raw):
    assert french_error(raw) == "L'adresse e-mail n'est pas valide (exemple : nom@domaine.fr)."


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_empty_identifier_asks_for_one(raw):
    assert french_error(raw).startswith("Saisissez votre e-mail")


def test_finess_key_check_can_be_switched_off_for_fictitious_numbers():
    fictitious_nine_digits = with_digit_changed("750712184")
    fictitious_corsican = with_digit_changed(corsican_finess("2B"), 6)
    assert not finess_key_valid(fictitious_nine_digits)
    assert not finess_key_valid(fictitious_corsican)

    relaxed = parse_login_identifier(fictitious_nine_digits, check_finess_key=False)
    assert set(relaxed.kinds) == {"am", "finess"}
    assert parse_login_identifier(fictitious_corsican, check_finess_key=False).kinds == (
        "finess",)
    # With the check on (the default), the same inputs are not FINESS numbers.
    assert parse_login_identifier(fictitious_nine_digits).kinds == ("am",)
    french_error(fictitious_corsican)
