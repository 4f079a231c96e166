"""Fixtures and helpers of the account lifecycle tests (imported by the test modules)."""

from __future__ import annotations

import email
import email.policy
import html
import io
import re
import socket
import threading
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import csrf_of
from pypdf import PdfReader

from idp.accounts import notifications
from idp.referentials import importer

SAMPLES = Path(__file__).resolve().parents[2] / "idp" / "data" / "samples"
FINESS_SAMPLE = SAMPLES / "etalab-cs1100507-stock-sample.csv"
RPPS_SAMPLE = SAMPLES / "PS_LibreAcces_Personne_activite_sample.txt"
NEW_PASSWORD = "Nv8#chaise-Verte-2026"


class Mailbox:
    """Messages received by the test SMTP server."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        """Keep the message."""
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def received(self) -> list[email.message.Message]:
        """Every message so far, once the e-mails being sent have left."""
        notifications.wait_sent()
        with self.lock:
            return list(self.messages)

    def to(self, address: str) -> list[email.message.Message]:
        """Messages sent to ``address``."""
        return [m for m in self.received() if m["To"] == address]


def body(message, kind: str = "plain") -> str:
    """The decoded text or HTML part of a message."""
    part = next(p for p in message.walk() if p.get_content_type() == f"text/{kind}")
    return part.get_payload(decode=True).decode()


def link_in(message) -> str:
    """The link of a message (text part)."""
    match = re.search(r"https?://\S+", body(message))
    assert match, "no link in the e-mail"
    return match.group(0)


def path_of(link: str) -> str:
    """The path of a link (the test client serves every host)."""
    return re.sub(r"^https?://[^/]+", "", link)


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{port}"
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    """The SMTP server's mailbox, emptied for this test."""
    notifications.wait_sent()
    with smtp_server.lock:
        smtp_server.messages.clear()
    return smtp_server


@pytest.fixture
def lc_app(make_app, smtp_server, tmp_path):
    """The IdP with e-mail to the test server, the sample referentials and an outbox."""
    app = make_app(IDP_SMTP_URL=smtp_server.url, IDP_LETTER_OUTBOX=str(tmp_path / "letters"))
    with app.app_context():
        importer.import_finess(FINESS_SAMPLE)
        importer.import_rpps(RPPS_SAMPLE)
    return app


@pytest.fixture
def browser(lc_app):
    """A test client on the lifecycle app."""
    return lc_app.test_client()


def text_of(response) -> str:
    """The visible text of a page, tags dropped and entities decoded."""
    raw = re.sub(r"<script.*?</script>|<style.*?</style>", " ", response.get_data(as_text=True),
                 flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())


def post_form(client, path: str, data: dict, page_path: str | None = None):
    """GET the page holding the form (for its CSRF token), then POST it."""
    page = client.get(page_path or path)
    return client.post(path, data={"csrf_token": csrf_of(page.get_data(as_text=True)), **data})


def letters(app) -> list[Path]:
    """The PDF letters in the outbox, oldest first."""
    outbox = Path(app.config["IDP_SETTINGS"].letter_outbox)
    return sorted(outbox.glob("*.pdf"), key=lambda p: p.stat().st_mtime_ns)


def letter_text(path: Path) -> str:
    """The text of a PDF letter."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


def provisional_password_of(path: Path) -> str:
    """The provisional password printed in a letter (the line after the introduction)."""
    lines = letter_text(path).splitlines()
    index = next(i for i, line in enumerate(lines) if "comme identifiant" in line)
    return lines[index + 1].strip()


def login(client, identifier: str, password: str):
    """Post the login form; return the response."""
    return post_form(client, "/login", {"identifier": identifier, "password": password})
