"""Fixtures and helpers of the CPS card tests (imported by the test modules).

The PC/SC tests need pcscd and vsmartcard-vpcd (Debian packages). Without them
the tests are skipped, except in CI (``CI=true``) where a skip is an error.
"""

from __future__ import annotations

import base64
import gc
import html
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from conftest import csrf_of
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from mail_support import mailbox, smtp_server  # noqa: F401  (fixtures)
from smartcard.Exceptions import SmartcardException
from smartcard.pcsc.PCSCExceptions import BaseSCardException
from smartcard.System import readers

from idp.devtools.test_pki import make_test_pki

PIN = "1234"
VPCD_READER = "Virtual PCD 00 00"


def need(condition: bool, why: str) -> None:
    """Skip when ``condition`` is false; in CI that is an error, not a skip."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run this test: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> dict:
    """A fresh test PKI (manifest of :func:`make_test_pki`)."""
    return make_test_pki(tmp_path_factory.mktemp("pki"))


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cps_config(pki: dict, **extra) -> dict:
    """IDP_* settings enabling card login with the test PKI."""
    return {"IDP_AUTHENTICATORS": "password,cps", "IDP_CPS_TRUST_ANCHORS": pki["trust_anchors"],
            "IDP_CPS_CRLS": pki["crl"], "IDP_FINESS_CHECK_KEY": "true", **extra}


@pytest.fixture
def cps_app(make_app, pki, smtp_server):
    """The IdP with card login enabled and e-mails going to the test SMTP server."""
    return make_app(**cps_config(pki, IDP_SMTP_URL=smtp_server.url))


def card_files(pki: dict, name: str) -> tuple[x509.Certificate, object, str]:
    """(certificate, private key, PEM text) of one test card."""
    entry = pki["cards"][name]
    pem = Path(entry["certificate"]).read_text()
    key = serialization.load_pem_private_key(Path(entry["key"]).read_bytes(), None)
    return x509.load_pem_x509_certificate(pem.encode()), key, pem


def b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url`."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key, challenge: bytes) -> bytes:
    """What the card computes: RSA PKCS #1 v1.5 over SHA-256 of the challenge."""
    return key.sign(challenge, padding.PKCS1v15(), hashes.SHA256())


class CardBrowser:
    """Drives the card login page as its script does, with the Flask test client."""

    def __init__(self, client, card_url: str) -> None:
        self.client = client
        self.card_url = card_url
        page = client.get(card_url)
        assert page.status_code == 200, page.status_code
        self.page = page
        self.csrf = csrf_of(page.get_data(as_text=True))
        html = page.get_data(as_text=True)
        self.challenge_url = re.search(r'data-challenge-url="([^"]+)"', html).group(1).replace(
            "&amp;", "&")
        self.verify_url = re.search(r'id="card-proof" method="post" action="([^"]+)"',
                                    html).group(1).replace("&amp;", "&")

    def challenge(self) -> str:
        """POST the challenge endpoint; the base64url challenge."""
        response = self.client.post(self.challenge_url, data={"csrf_token": self.csrf})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["challenge"]

    def post_proof(self, certificate: str, signature: str, challenge: str):
        """POST what the agent returned, as the hidden form does."""
        return self.client.post(self.verify_url, data={
            "csrf_token": self.csrf, "certificate": certificate, "signature": signature,
            "challenge": challenge})

    def login_with_key(self, pki: dict, card: str):
        """The whole page flow, the card's key standing in for the card."""
        _, key, pem = card_files(pki, card)
        challenge = self.challenge()
        return self.post_proof(pem, b64url(sign(key, b64url_decode(challenge))), challenge)


def page_text(response) -> str:
    """The page's text with entities decoded (for French messages with apostrophes)."""
    return html.unescape(response.get_data(as_text=True))


# ---------------------------------------------------------------------------
# PC/SC: pcscd with the vpcd virtual reader
# ---------------------------------------------------------------------------

def _vpcd_reader_present() -> bool:
    try:
        return VPCD_READER in [str(r) for r in readers()]
    except (SmartcardException, BaseSCardException):  # pcscd not running
        return False


@pytest.fixture(scope="session")
def pcsc():
    """pcscd running with the vpcd reader; started (and stopped) here when not running."""
    need(shutil.which("pcscd") is not None, "pcscd is not installed (apt-get install pcscd)")
    need(Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so").exists(),
         "vsmartcard-vpcd is not installed (apt-get install vsmartcard-vpcd)")
    process = None
    if not _vpcd_reader_present():
        # Foreground, as a child of the test session: no systemd needed, stopped at the end.
        process = subprocess.Popen(["pcscd", "--foreground"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not _vpcd_reader_present() and time.time() < deadline:
            time.sleep(0.2)
    try:
        need(_vpcd_reader_present(), "pcscd does not show the vpcd reader")
        yield VPCD_READER
    finally:
        if process is not None:
            gc.collect()  # pyscard releases its PC/SC contexts when collected, while pcscd runs
            process.terminate()
            process.wait(timeout=10)


def wait_for_card(agent_url: str, origin: str, present: bool = True, timeout: float = 10) -> dict:
    """Poll the agent's status until the card is (or is not) in the reader."""
    deadline = time.time() + timeout
    while True:
        status = requests.get(agent_url + "/status", headers={"Origin": origin}, timeout=10)
        body = status.json()
        if body.get("card_present") is present or time.time() > deadline:
            return body
        time.sleep(0.1)
