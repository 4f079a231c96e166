"""A relying party caching the JWKS keeps logging users in while the keys rotate.

The IdP runs for real over HTTP (a threaded Werkzeug server). The relying party
uses Authlib's requests client for the code exchange with PKCE, validates each
ID token with joserfc against its *cached* JWKS, and refreshes that cache only
when the max-age of the JWKS response's Cache-Control has elapsed — never on an
unknown kid. Meanwhile another thread rotates the keys as soon as the IdP allows
(never forced). A key published for less than the cache lifetime before signing
would show up here as a validation failure.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from urllib.parse import urljoin

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from conftest import OIDC, PASSWORD, csrf_of
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from signing_helpers import files_store, header_of, keys_of
from werkzeug.serving import WSGIRequestHandler, make_server

from idp.signing.service import RotationRefused

JWKS_MAX_AGE = 2
LOGIN_SECONDS = 10.0
MIN_ROTATIONS = 3
# Several RP workers, each with its own JWKS cache, their cache expiries spread over max-age.
RP_WORKERS = 4
RP_CALLBACK = "http://127.0.0.1:9/callback"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


class _Dispatcher:
    """The WSGI app the server calls: the IdP is built once the port is known."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


class CachedJwks:
    """The RP's JWKS cache: fresh for the response's Cache-Control max-age, then re-fetched."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.lock = threading.Lock()
        self.keys: KeySet | None = None
        self.expires = 0.0
        self.fetched = 0.0
        self.fetches = 0

    def get(self) -> KeySet:
        with self.lock:
            if self.keys is None or time.monotonic() >= self.expires:
                # RFC 9111: the freshness lifetime counts from when the request was sent.
                requested = time.monotonic()
                response = self.http.get(self.url, timeout=10)
                response.raise_for_status()
                match = re.search(r"max-age=(\d+)", response.headers.get("Cache-Control", ""))
                max_age = int(match.group(1)) if match else 0
                self.keys = KeySet.import_key_set(response.json())
                self.expires = requested + max_age
                self.fetched = requested
                self.fetches += 1
            return self.keys

    def age(self) -> float:
        """Seconds since the cached JWKS was requested."""
        return time.monotonic() - self.fetched


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.logins = 0
        self.kids: set[str] = set()
        self.validation_failures: list[str] = []
        self.login_errors: list[str] = []

    def add(self, attr: str, message: str) -> None:
        with self.lock:
            getattr(self, attr).append(message)


def _browser_login(issuer: str, authorize_url: str, identifier: str) -> str:
    """What a browser does: authorize, fill the login form, follow back; the callback URL."""
    browser = requests.Session()
    response = browser.get(authorize_url, allow_redirects=False, timeout=10)
    assert response.status_code == 303, (response.status_code, response.text[:300])
    login_url = urljoin(issuer + "/", response.headers["Location"])
    page = browser.get(login_url, timeout=10)
    assert page.status_code == 200, page.status_code
    posted = browser.post(login_url, allow_redirects=False, timeout=10, data={
        "csrf_token": csrf_of(page.text), "identifier": identifier, "password": PASSWORD})
    assert posted.status_code == 303, (posted.status_code, _page_error(posted.text))
    back = browser.get(urljoin(issuer + "/", posted.headers["Location"]), allow_redirects=False,
                       timeout=10)
    assert back.status_code == 302, (back.status_code, back.text[:300])
    callback = back.headers["Location"]
    assert callback.startswith(RP_CALLBACK), callback
    return callback


def _page_error(html: str) -> str:
    """The error shown on a page, for failure messages."""
    found = re.findall(r'class="(?:alert__text|field__error)"[^>]*>(.*?)</p>', html, re.S)
    return " | ".join(" ".join(re.sub(r"<[^>]+>", " ", x).split()) for x in found) or html[:300]


def _login_loop(issuer, client_id, secret, user: str, jwks: CachedJwks, stats: Stats,
                deadline: float, delay: float):
    time.sleep(delay)
    while time.monotonic() < deadline:
        rp = OAuth2Session(client_id, secret, scope="openid profile", redirect_uri=RP_CALLBACK,
                           code_challenge_method="S256",
                           token_endpoint_auth_method="client_secret_basic")
        verifier, nonce = generate_token(48), secrets.token_urlsafe(12)
        try:
            url, state = rp.create_authorization_url(issuer + "/authorize",
                                                     code_verifier=verifier, nonce=nonce)
            callback = _browser_login(issuer, url, user)
            token = rp.fetch_token(issuer + "/token", authorization_response=callback,
                                   state=state, code_verifier=verifier, timeout=10)
            id_token = token["id_token"]
        except Exception as exc:  # every failure is counted and reported
            stats.add("login_errors", f"{type(exc).__name__}: {exc}"[:300])
            continue
        try:
            decoded = jwt.decode(id_token, jwks.get(), algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": issuer},
                aud={"essential": True, "value": client_id},
                nonce={"essential": True, "value": nonce},
                sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            stats.add("validation_failures", (
                header_of(id_token).get("kid"),
                f"{type(exc).__name__}: {exc} (the RP's JWKS, still fresh, was requested "
                f"{jwks.age():.2f} s earlier)"))
            continue
        with stats.lock:
            stats.logins += 1
            stats.kids.add(decoded.header["kid"])


def _rotate_loop(app, rotations: list, refusals: list, stop: threading.Event) -> None:
    """Rotate whenever the IdP allows it (never forced); record (started, ended, result)."""
    service = keys_of(app)
    while not stop.is_set():
        started = time.time()
        try:
            with app.app_context():
                result = service.rotate()
            if result.get("rotated"):
                rotations.append((started, time.time(), result))
        except RotationRefused:
            refusals.append(started)
        stop.wait(0.05)


def test_rp_caching_the_jwks_never_fails_while_keys_rotate(make_app, tmp_path):
    dispatcher = _Dispatcher()
    server = make_server("127.0.0.1", 0, dispatcher, threaded=True, request_handler=_QuietHandler)
    issuer = f"http://127.0.0.1:{server.server_port}"
    app = make_app(IDP_ISSUER=issuer, IDP_JWKS_MAX_AGE=JWKS_MAX_AGE, IDP_KEYS_REFRESH_SECONDS=0,
                   **files_store(tmp_path))
    dispatcher.app = app
    oidc = OIDC(app, app.test_client())
    client_id, secret = oidc.register_client(redirect_uris=[RP_CALLBACK], scope="openid profile")
    # One user per worker: concurrent attempts on one account count against its lockout.
    users = [f"worker{i}@example.fr" for i in range(RP_WORKERS)]
    for user in users:
        oidc.create_ps(email=user, am=None, rpps=None)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                               daemon=True)
    serving.start()
    stop = threading.Event()
    rotations: list = []
    refusals: list = []
    stats = Stats()
    caches = [CachedJwks(issuer + "/jwks") for _ in range(RP_WORKERS)]
    try:
        deadline = time.monotonic() + LOGIN_SECONDS
        rotator = threading.Thread(target=_rotate_loop, args=(app, rotations, refusals, stop),
                                   daemon=True)
        loggers = [threading.Thread(target=_login_loop,
                                    args=(issuer, client_id, secret, user, cache, stats,
                                          deadline, i * JWKS_MAX_AGE / RP_WORKERS), daemon=True)
                   for i, (user, cache) in enumerate(zip(users, caches, strict=True))]
        rotator.start()
        for thread in loggers:
            thread.start()
        for thread in loggers:
            thread.join(timeout=LOGIN_SECONDS + 8)
        stop.set()
        rotator.join(timeout=5)
        assert not any(t.is_alive() for t in [*loggers, rotator]), "a worker thread is stuck"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()

    print(f"\ncontinuous login: {stats.logins} logins, {len(rotations)} rotations, "
          f"{len(stats.validation_failures)} validation failures, {len(stats.login_errors)} "
          f"login errors, {sum(c.fetches for c in caches)} JWKS fetches, {len(stats.kids)} "
          "signing kids seen")
    assert stats.validation_failures == [], (
        f"{len(stats.validation_failures)} ID tokens failed validation against the RP's cached "
        f"JWKS (max-age {JWKS_MAX_AGE} s) out of {stats.logins + len(stats.validation_failures)}: "
        f"{[message for _, message in stats.validation_failures[:3]]}")
    assert stats.login_errors == [], stats.login_errors[:5]
    assert len(rotations) >= MIN_ROTATIONS, (rotations, len(refusals))
    # Refused attempts prove the rotator went as fast as the IdP allowed, not faster.
    assert refusals
    assert stats.logins >= 20, stats.logins
    # The logins really spanned the rotations: tokens were signed by several keys.
    assert len(stats.kids) >= MIN_ROTATIONS, stats.kids
