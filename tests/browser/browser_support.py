"""Helpers of the real-browser tests: Chromium through Playwright, a live IdP, the card agent.

Playwright drives the Chromium of the distribution (Debian package ``chromium``):
Playwright's own browser download is not used. Without Playwright or Chromium the
tests skip, except in CI (``CI=true``) where that is an error.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import cps_support
import pytest
import requests
from werkzeug.serving import make_server

from idp.card_agent.server import make_server as make_agent_server
from idp.devtools.virtual_card import VirtualCps, VpcdConnection, load_test_card

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CARD_BUTTON = "VOUS CONNECTER PAR CARTE CPS"
TIMEOUT_MS = 15_000


def chromium_executable() -> str:
    """Path of Debian's Chromium; a skip without it (an error under CI=true)."""
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    cps_support.need(found is not None, "Chromium is not installed (apt-get install chromium)")
    return found


def sync_playwright():
    """Playwright's sync API; a skip without the package (an error under CI=true)."""
    try:
        module = importlib.import_module("playwright.sync_api")
    except ImportError:
        cps_support.need(False, "Playwright is not installed (pip install playwright)")
    return module.sync_playwright


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, through Playwright."""
    executable = chromium_executable()
    playwright = sync_playwright()().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser):
    """A fresh browser profile (no cookies)."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1100, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


# ---------------------------------------------------------------------------
# Servers: the IdP (werkzeug, threaded) and the card agent, in this process
# ---------------------------------------------------------------------------

class Deferred:
    """A WSGI app whose target is set once known (the IdP needs its own URL as issuer)."""

    def __init__(self) -> None:
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@contextlib.contextmanager
def serving(server) -> Iterator[None]:
    """Run ``server.serve_forever`` in a thread for the duration of the block."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class LiveCardIdp:
    """A live IdP with card login, the card agent it points its page to, and the helper."""

    issuer: str
    agent_url: str
    app: object
    oidc: object  # conftest.OIDC on this app (registration, accounts, token exchange)


@contextlib.contextmanager
def live_card_idp(make_app, pki: dict, reader: str = "", agent: bool = True,
                  **settings) -> Iterator[LiveCardIdp]:
    """Serve the IdP on a free loopback port with ``password,cps`` and the test PKI, and
    run the real card agent (``idp.card_agent.server``, on the first reader whose name
    contains ``reader``) allowing that origin only. Without ``agent``, the page points
    to a loopback port where nothing listens. ``settings`` are more IDP_* settings."""
    from conftest import OIDC

    wsgi = Deferred()
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    issuer = f"http://127.0.0.1:{server.server_port}"
    with contextlib.ExitStack() as stack:
        if agent:
            agent_server = make_agent_server([issuer], port=0, reader_filter=reader)
            agent_url = f"http://127.0.0.1:{agent_server.server_address[1]}"
            stack.enter_context(serving(agent_server))
        else:
            agent_url = f"http://127.0.0.1:{cps_support.free_port()}"  # nothing listens there
        wsgi.app = make_app(**cps_support.cps_config(pki, IDP_ISSUER=issuer,
                                                     IDP_CPS_AGENT_URL=agent_url, **settings))
        stack.enter_context(serving(server))
        yield LiveCardIdp(issuer=issuer, agent_url=agent_url, app=wsgi.app,
                          oidc=OIDC(wsgi.app, wsgi.app.test_client()))


@contextlib.contextmanager
def card_in_reader(pki: dict, agent_url: str, origin: str, name: str = "kit") -> Iterator[VirtualCps]:
    """A virtual card of the test PKI in the vpcd reader, seen by the agent; removed after."""
    card = load_test_card(Path(pki["trust_anchors"]).parent, name)
    connection = VpcdConnection(card).start()
    try:
        status = cps_support.wait_for_card(agent_url, origin)
        assert status.get("card_present") is True, f"the agent does not see the card: {status}"
        yield card
    finally:
        connection.remove()
        cps_support.wait_for_card(agent_url, origin, present=False)
        time.sleep(0.3)  # let pcscd settle before the next insertion (as tests/cps do)


class _CallbackHandler(BaseHTTPRequestHandler):
    """The relying party's redirect URI: records the query, answers a small page."""

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        body = b"<!doctype html><title>RP</title><h1>Retour chez le service</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass


@contextlib.contextmanager
def relying_party_callback() -> Iterator[str]:
    """A loopback redirect URI served for the duration of the block; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CallbackHandler)
    server.hits = []
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}/callback"


def authorization_url(idp: LiveCardIdp, client_id: str, redirect_uri: str,
                      **extra) -> tuple[str, dict, str]:
    """(URL, parameters, PKCE verifier) of an authorization request to the live IdP."""
    params, verifier = idp.oidc.authorize_params(client_id, scope="openid profile email",
                                                 redirect_uri=redirect_uri, **extra)
    return f"{idp.issuer}/authorize?{urlencode(params)}", params, verifier


def exchange_code(idp: LiveCardIdp, client_id: str, secret: str, code: str, verifier: str,
                  redirect_uri: str) -> dict:
    """Redeem a code at the live IdP's token endpoint (client_secret_basic): the JSON answer."""
    answer = requests.post(f"{idp.issuer}/token", auth=(client_id, secret), timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
        "code_verifier": verifier})
    assert answer.status_code == 200, answer.text
    return answer.json()


def id_token_claims(id_token: str) -> dict:
    """The payload of a JWT (the signature is checked by the protocol tests)."""
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# ---------------------------------------------------------------------------
# What the page did: console messages, page errors, requests
# ---------------------------------------------------------------------------

@dataclass
class PageWatch:
    """Console errors, uncaught exceptions, CSP reports and requests of one page."""

    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)

    def attach(self, page) -> PageWatch:
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("request", self._request)
        return self

    def _request(self, request) -> None:
        self.requests.append({"method": request.method, "url": request.url,
                              "request": request, "post_data": request.post_data})

    def headers(self, entry: dict) -> dict:
        """All the headers Chromium sent with a recorded request (Origin and Cookie included)."""
        return entry["request"].all_headers()

    def to(self, url_prefix: str, method: str | None = None) -> list[dict]:
        return [r for r in self.requests
                if r["url"].startswith(url_prefix) and (method is None or r["method"] == method)]

    def problems(self, expected: tuple[str, ...] = ()) -> list[str]:
        """Console errors and page errors (a CSP violation is a console error), except the
        console errors containing one of ``expected``."""
        return [c for c in self.console if c.startswith("error")
                and not any(text in c for text in expected)] + self.errors


def screenshot(page, name: str) -> Path:
    """Full-page PNG in tests/browser/screenshots/ (git-ignored, created here)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_until(predicate, timeout: float = 10, interval: float = 0.05):
    """Poll ``predicate`` until it returns a true value; that value, or the last one."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
