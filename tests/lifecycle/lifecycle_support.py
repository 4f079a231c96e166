"""Fixtures and helpers of the account lifecycle tests (imported by the test modules)."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from conftest import csrf_of
from mail_support import body, mailbox, smtp_server  # noqa: F401  (fixtures)
from pypdf import PdfReader

from idp.referentials import importer

SAMPLES = Path(__file__).resolve().parents[2] / "idp" / "data" / "samples"
FINESS_SAMPLE = SAMPLES / "etalab-cs1100507-stock-sample.csv"
RPPS_SAMPLE = SAMPLES / "PS_LibreAcces_Personne_activite_sample.txt"
NEW_PASSWORD = "Nv8#chaise-Verte-2026"


def link_in(message) -> str:
    """The link of a message (text part)."""
    match = re.search(r"https?://\S+", body(message))
    assert match, "no link in the e-mail"
    return match.group(0)


def path_of(link: str) -> str:
    """The path of a link (the test client serves every host)."""
    return re.sub(r"^https?://[^/]+", "", link)


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
