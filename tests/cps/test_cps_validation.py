"""Certificate validation, CRLs and identity extraction: pure functions over the test PKI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cps_support import b64url, card_files, pki, sign  # noqa: F401  (pki is a fixture)
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from idp.cps import errors
from idp.cps.crl import CrlCache
from idp.cps.errors import CardRejected
from idp.cps.identity import identity_from_certificate, parse_id_nat
from idp.cps.validation import (
    CertificateValidator,
    load_bundle,
    load_certificate,
    verify_signature,
)
from idp.devtools.test_pki import make_crl


def _validator(pki, crl_sources=None, grace=3600, clock=None, refresh=3600):
    kwargs = {"clock": clock} if clock else {}
    crls = CrlCache(tuple(crl_sources or [pki["crl"]]), refresh=refresh, grace=grace, **kwargs)
    return CertificateValidator(load_bundle(Path(pki["trust_anchors"])), crls, **kwargs)


def _reason(pki, card, **kwargs) -> str:
    cert, _, _ = card_files(pki, card)
    with pytest.raises(CardRejected) as caught:
        _validator(pki, **kwargs).validate(cert)
    return caught.value.code


def test_valid_card_chains_to_the_root(pki):
    cert, _, _ = card_files(pki, "kit")
    chain = _validator(pki).validate(cert)
    assert [c.subject.rfc4514_string() for c in chain[1:]] == [
        "CN=TEST AC IGC-SANTE FORT PERSONNES,O=TEST ANS,C=FR",
        "CN=TEST AC RACINE IGC-SANTE FORT,O=TEST ANS,C=FR"]


@pytest.mark.parametrize(("card", "reason"), [
    ("expired", "expired"), ("revoked", "revoked"), ("foreign", "unknown_ca"),
    ("no-digital-signature", "key_usage")])
def test_bad_cards_are_refused_with_their_reason(pki, card, reason):
    assert _reason(pki, card) == reason


def test_every_reason_has_a_french_message():
    for name in dir(errors):
        value = getattr(errors, name)
        if isinstance(value, tuple) and len(value) == 2:
            assert value[1].endswith(".") and " " in value[1], name


@pytest.mark.parametrize("text", ["", "pas un certificat", "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                  "-----END CERTIFICATE-----", "%%%%", "QUJD" * 5000])
def test_malformed_certificates(text):
    with pytest.raises(CardRejected) as caught:
        load_certificate(text)
    assert caught.value.code == "malformed"


def test_certificate_accepted_as_pem_or_base64_der(pki):
    cert, _, pem = card_files(pki, "kit")
    der = cert.public_bytes(serialization.Encoding.DER)
    assert load_certificate(pem) == cert
    assert load_certificate(b64url(der)) == cert


def test_signature_must_cover_exactly_the_challenge(pki):
    cert, key, _ = card_files(pki, "kit")
    challenge = b"c" * 32
    verify_signature(cert, challenge, sign(key, challenge))
    with pytest.raises(CardRejected) as caught:
        verify_signature(cert, b"d" * 32, sign(key, challenge))
    assert caught.value.code == "bad_signature"
    _, other_key, _ = card_files(pki, "anne")
    with pytest.raises(CardRejected):
        verify_signature(cert, challenge, sign(other_key, challenge))


def _write_crl(pki, path: Path, *, revoked=(), next_update_in: dt.timedelta):
    issuer = x509.load_pem_x509_certificate(Path(pki["trust_anchors"]).read_bytes()
                                            .split(b"-----END CERTIFICATE-----")[1]
                                            + b"-----END CERTIFICATE-----")
    key = serialization.load_pem_private_key(
        (Path(pki["crl"]).parent / "personnes.key.pem").read_bytes(), None)
    now = dt.datetime.now(dt.UTC)
    crl = make_crl(issuer, key, list(revoked), this_update=now - dt.timedelta(days=2),
                   next_update=now + next_update_in)
    path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))


def test_crl_past_next_update_fails_closed_after_the_grace(pki, tmp_path):
    stale = tmp_path / "stale.crl"
    _write_crl(pki, stale, next_update_in=-dt.timedelta(hours=2))
    assert _reason(pki, "kit", crl_sources=[str(stale)], grace=3600) == "revocation_unknown"
    cert, _, _ = card_files(pki, "kit")
    _validator(pki, crl_sources=[str(stale)], grace=3 * 3600).validate(cert)  # within the grace


def test_no_crl_for_the_issuer_fails_closed(pki, tmp_path):
    missing = tmp_path / "absent.crl"
    assert _reason(pki, "kit", crl_sources=[str(missing)]) == "revocation_unknown"


def test_crl_is_cached_then_refreshed(pki, tmp_path):
    source = tmp_path / "live.crl"
    _write_crl(pki, source, next_update_in=dt.timedelta(days=1))
    now = [1_000_000_000.0 + (dt.datetime.now(dt.UTC).timestamp() - 1_000_000_000)]
    validator = _validator(pki, crl_sources=[str(source)], clock=lambda: now[0], refresh=600)
    cert, _, _ = card_files(pki, "kit")
    validator.validate(cert)
    _write_crl(pki, source, revoked=[cert.serial_number], next_update_in=dt.timedelta(days=1))
    validator.validate(cert)  # still the cached CRL: no reload before `refresh`
    now[0] += 601
    with pytest.raises(CardRejected) as caught:
        validator.validate(cert)
    assert caught.value.code == "revoked"


def test_identity_of_current_layout(pki):
    cert, _, _ = card_files(pki, "kit")
    identity = identity_from_certificate(cert)
    assert (identity.id_nat, identity.kind, identity.number) == ("899700427885", "rpps",
                                                                "99700427885")
    assert (identity.given_name, identity.family_name, identity.profession) == (
        "KIT", "DOC0042788", "Médecin")
    assert identity.profession_code == "10"


def test_identity_of_older_layout_and_adeli(pki):
    legacy = identity_from_certificate(card_files(pki, "legacy")[0])
    assert (legacy.kind, legacy.number, legacy.family_name) == ("rpps", "99700427885", "DOC0042788")
    adeli = identity_from_certificate(card_files(pki, "adeli")[0])
    assert (adeli.kind, adeli.number, adeli.profession_code) == ("adeli", "751234567", "60")


@pytest.mark.parametrize("value", ["899700427886", "3123456789", "8", "0ABC", ""])
def test_ids_that_name_no_professional(value):
    assert parse_id_nat(value) is None
