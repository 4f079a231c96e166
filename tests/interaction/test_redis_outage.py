"""Redis down: no password login (fail closed, in French), protocol endpoints unaffected.

Two apps share the test database: the usual one, and one whose Redis URL points
where nothing listens (the session's Redis is never touched).
"""

import html
import re

import pytest
from conftest import ISSUER, PASSWORD, csrf_of

from idp.authenticators import enabled
from idp.authenticators.base import LoginContext, Outcome
from idp.authenticators.password import UNAVAILABLE

DEAD_REDIS = "redis://127.0.0.1:1/0"
COOKIE = "idp_session"
UNAVAILABLE_PAGE = "momentanément indisponible"


@pytest.fixture
def dead(app, make_app):
    """An app like ``app`` (same database and keys) whose Redis is unreachable."""
    return make_app(IDP_REDIS_URL=DEAD_REDIS)


@pytest.fixture
def verify_calls(dead, monkeypatch):
    calls = []
    service = dead.extensions["idp"].passwords
    monkeypatch.setattr(service, "verify", lambda *args: calls.append(args) or True)
    return calls


def text_of(response) -> str:
    raw = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(raw).split())


def assert_unavailable_page(response):
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    text = text_of(response)
    assert UNAVAILABLE_PAGE in text
    assert "Veuillez réessayer" in text
    for leak in ("Traceback", "ConnectionError", "RedisError", "127.0.0.1:1", "Error "):
        assert leak not in response.get_data(as_text=True)


def browser_with_session(app, dead):
    """A browser that got the login page (cookie, CSRF token) just before Redis died."""
    working = app.test_client()
    token = csrf_of(working.get("/login").get_data(as_text=True))
    broken = dead.test_client()
    broken.set_cookie(COOKIE, working.get_cookie(COOKIE).value)
    return broken, token


def login_form(token, password=PASSWORD):
    return {"csrf_token": token, "identifier": "kit.doc@example.fr", "password": password}


def test_password_login_with_a_session_answers_503_in_french(app, oidc, dead, verify_calls):
    oidc.create_ps()
    broken, token = browser_with_session(app, dead)
    response = broken.post("/login", data=login_form(token))
    assert_unavailable_page(response)
    assert "Location" not in response.headers
    assert verify_calls == []


def test_password_login_of_a_fresh_browser_answers_503(oidc, dead, verify_calls):
    """A browser arriving during the outage posts the form it was shown."""
    oidc.create_ps()
    http = dead.test_client()
    page = http.get("/login")
    assert page.status_code in (200, 503)
    token = (csrf_of(page.get_data(as_text=True)) if page.status_code == 200 else "")
    response = http.post("/login", data=login_form(token))
    assert_unavailable_page(response)
    assert verify_calls == []


@pytest.mark.parametrize("path", ["/login", "/authorize?client_id=x&response_type=code",
                                  "/logout", "/connecte"])
def test_pages_of_a_browser_with_a_session_answer_503(app, dead, path):
    broken, _ = browser_with_session(app, dead)
    assert_unavailable_page(broken.get(path))


def test_password_authenticator_fails_closed(oidc, dead, verify_calls):
    oidc.create_ps()
    with dead.test_request_context("/login", method="POST"):
        result = enabled(dead)["password"].verify(
            LoginContext(ip="127.0.0.1"), login_form("unused"))
    assert result.outcome is Outcome.UNAVAILABLE
    assert result.http_status == 503
    assert result.message == UNAVAILABLE
    assert not result.succeeded and result.account_id is None
    assert verify_calls == []


def test_discovery_and_jwks_answer_while_redis_is_down(dead):
    http = dead.test_client()
    discovery = http.get("/.well-known/openid-configuration")
    assert discovery.status_code == 200
    assert discovery.get_json()["issuer"] == ISSUER
    jwks = http.get("/jwks")
    assert jwks.status_code == 200
    assert jwks.get_json()["keys"]


def test_tokens_obtained_before_keep_working_while_redis_is_down(oidc, dead):
    client_id, secret = oidc.register_client()
    sub = oidc.create_ps()
    tokens = oidc.tokens(client_id, secret)
    http = dead.test_client()

    def userinfo(access_token):
        return http.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})

    assert userinfo(tokens["access_token"]).status_code == 200
    assert userinfo(tokens["access_token"]).get_json()["sub"] == sub
    refreshed = http.post("/token", data={"grant_type": "refresh_token",
                                          "refresh_token": tokens["refresh_token"]},
                          auth=(client_id, secret))
    assert refreshed.status_code == 200, refreshed.get_data(as_text=True)
    renewed = refreshed.get_json()
    assert renewed["access_token"] != tokens["access_token"]
    assert userinfo(renewed["access_token"]).get_json()["sub"] == sub
