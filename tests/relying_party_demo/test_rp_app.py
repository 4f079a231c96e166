"""The demo portal's own defences (the journeys through the IdP are in tests/browser)."""

from __future__ import annotations

import re

import pytest

import relying_party_demo


@pytest.fixture
def portal():
    """The portal for an IdP that is never called by these tests."""
    app = relying_party_demo.create_app(issuer="http://127.0.0.1:9", client_id="demo",
                                        client_secret="s" * 32)
    return app.test_client()


def _csrf(portal) -> str:
    page = portal.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_welcome_page_in_french_with_strict_headers(portal):
    answer = portal.get("/")
    assert answer.status_code == 200
    assert "Bienvenue sur amelipro" in answer.get_data(as_text=True)
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/login", "/logout", "/activite"])
def test_posts_without_the_csrf_token_are_refused(portal, path):
    portal.get("/")
    assert portal.post(path, data={"csrf_token": "forged"}).status_code == 400
    assert portal.post(path).status_code == 400


def test_services_need_a_login_first(portal):
    answer = portal.get("/service/aat")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/")


def test_choosing_an_activity_without_a_session_is_refused(portal):
    token = _csrf(portal)
    assert portal.post("/activite", data={"csrf_token": token, "activity": "S1"}).status_code == 400


def test_logout_without_a_session_goes_home(portal):
    token = _csrf(portal)
    answer = portal.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["Location"] == "/"


def test_callback_with_an_error_says_so_in_french(portal):
    answer = portal.get("/callback?error=access_denied")
    assert answer.status_code == 400
    assert "La connexion n'a pas abouti (access_denied)" in answer.get_data(as_text=True)
