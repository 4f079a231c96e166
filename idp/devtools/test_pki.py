"""A test PKI shaped like IGC-Santé: root → « PERSONNES » CA → CPS card certificates.

``TEST AC RACINE IGC-SANTE FORT`` signs ``TEST AC IGC-SANTE FORT PERSONNES``,
which signs card certificates whose subject has the real layout
(``CN=<idNat>+SN=<surname>+GN=<given name>, title=<profession>, C=FR``). Next
to the valid cards come the variants the tests need: expired, revoked (listed
in the CRL), issued by a foreign CA, without the digitalSignature key usage,
and one with the older DN layout. Everything is fictitious; the private keys
are written in clear: this is test material only.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_NAME = "TEST AC RACINE IGC-SANTE FORT"
PERSONNES_NAME = "TEST AC IGC-SANTE FORT PERSONNES"
FOREIGN_NAME = "TEST AC ETRANGERE NON RECONNUE"
ORGANISATION = "TEST ANS"
# Where a real deployment would publish the CRL; the tests load the file instead.
CRL_URL = "http://crl.test-igc-sante.invalid/TEST_AC_IGC-SANTE_FORT_PERSONNES.crl"
# The demo and the tests type this PIN on every virtual card.
TEST_PIN = "1234"


@dataclass(frozen=True)
class CardSpec:
    """One card certificate to issue."""

    name: str
    id_nat: str
    surname: str
    given_name: str
    title: str
    variant: str = "valid"  # valid | expired | revoked | foreign | no_digital_signature | legacy


# Identities match the demo accounts (RPPS 99700427885, 10001001170); "nouveau" has no account.
CARDS = (
    CardSpec("kit", "899700427885", "DOC0042788", "KIT", "Médecin"),
    CardSpec("anne", "810001001170", "INF0010011", "ANNE", "Infirmier"),
    CardSpec("nouveau", "810003456786", "NOUVEAU0034", "CLAIRE", "Médecin"),
    CardSpec("adeli", "0751234567", "ADELI0075", "PAUL", "Infirmier"),
    CardSpec("expired", "899700427885", "DOC0042788", "KIT", "Médecin", "expired"),
    CardSpec("revoked", "899700427885", "DOC0042788", "KIT", "Médecin", "revoked"),
    CardSpec("foreign", "899700427885", "DOC0042788", "KIT", "Médecin", "foreign"),
    CardSpec("no-digital-signature", "899700427885", "DOC0042788", "KIT", "Médecin",
             "no_digital_signature"),
    CardSpec("legacy", "899700427885", "DOC0042788", "KIT", "Médecin", "legacy"),
)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _ca_name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca_certificate(name: x509.Name, key, issuer_name: x509.Name, issuer_key, now,
                    path_length: int | None) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
               .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                            False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


def card_subject(spec: CardSpec) -> x509.Name:
    """The subject of a card certificate, in the current or the older layout."""
    if spec.variant == "legacy":
        return x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CENTRE DE SANTE TEST"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, spec.title),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, spec.id_nat),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{spec.given_name} {spec.surname}")])
    return x509.Name([
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.TITLE, spec.title)]),
        x509.RelativeDistinguishedName([
            x509.NameAttribute(NameOID.COMMON_NAME, spec.id_nat),
            x509.NameAttribute(NameOID.SURNAME, spec.surname),
            x509.NameAttribute(NameOID.GIVEN_NAME, spec.given_name)])])


def _card_certificate(spec: CardSpec, key, issuer: x509.Certificate, issuer_key, now):
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=3 * 365)
    if spec.variant == "expired":
        start, end = now - dt.timedelta(days=3 * 365), now - dt.timedelta(days=2)
    digital_signature = spec.variant != "no_digital_signature"
    return (x509.CertificateBuilder().subject_name(card_subject(spec))
            .issuer_name(issuer.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature, not digital_signature, False, False,
                                         False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier(CRL_URL)], None, None, None)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))


def make_crl(issuer: x509.Certificate, issuer_key, revoked_serials: list[int], *,
             this_update: dt.datetime, next_update: dt.datetime) -> x509.CertificateRevocationList:
    """A CRL of ``issuer`` listing ``revoked_serials``."""
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
               .last_update(this_update).next_update(next_update))
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial)
            .revocation_date(this_update - dt.timedelta(hours=1)).build())
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(obj) -> bytes:
    return obj.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.write_bytes(data)
    path.chmod(0o600 if private else 0o644)


def make_test_pki(directory: Path, now: dt.datetime | None = None) -> dict:
    """Write the whole test PKI into ``directory``; return a manifest of what is where."""
    directory.mkdir(parents=True, exist_ok=True)
    now = now or dt.datetime.now(dt.UTC)
    root_key, personnes_key, foreign_key = _key(), _key(), _key()
    root = _ca_certificate(_ca_name(ROOT_NAME), root_key, _ca_name(ROOT_NAME), root_key, now, 1)
    personnes = _ca_certificate(_ca_name(PERSONNES_NAME), personnes_key, root.subject, root_key,
                                now, 0)
    foreign = _ca_certificate(_ca_name(FOREIGN_NAME), foreign_key, _ca_name(FOREIGN_NAME),
                              foreign_key, now, 0)
    _write(directory / "root.pem", _pem(root))
    _write(directory / "personnes.pem", _pem(personnes))
    _write(directory / "personnes.key.pem", _key_pem(personnes_key), private=True)
    _write(directory / "trust-anchors.pem", _pem(root) + _pem(personnes))
    cards, revoked = {}, []
    for spec in CARDS:
        key = _key()
        issuer, issuer_key = (foreign, foreign_key) if spec.variant == "foreign" else (
            personnes, personnes_key)
        cert = _card_certificate(spec, key, issuer, issuer_key, now)
        if spec.variant == "revoked":
            revoked.append(cert.serial_number)
        _write(directory / f"card-{spec.name}.pem", _pem(cert))
        _write(directory / f"card-{spec.name}.key.pem", _key_pem(key), private=True)
        cards[spec.name] = {"certificate": str(directory / f"card-{spec.name}.pem"),
                            "key": str(directory / f"card-{spec.name}.key.pem"),
                            "id_nat": spec.id_nat, "variant": spec.variant}
    crl = make_crl(personnes, personnes_key, revoked, this_update=now - dt.timedelta(hours=1),
                   next_update=now + dt.timedelta(days=7))
    _write(directory / "personnes.crl", crl.public_bytes(serialization.Encoding.DER))
    manifest = {"trust_anchors": str(directory / "trust-anchors.pem"),
                "crl": str(directory / "personnes.crl"), "pin": TEST_PIN, "cards": cards}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest
