"""Token revocation (RFC 7009) and introspection (RFC 7662)."""

import time

import pytest
from conftest import OIDC
from oauth_helpers import (
    assert_oauth_error,
    install_clock,
    log_in_browser,
    token_response,
    userinfo_status,
)


def _tokens(oidc, client_id, secret) -> dict:
    query, _, verifier = log_in_browser(oidc, client_id)
    response = token_response(oidc, client_id, secret, query["code"], verifier)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def tokens(oidc, rp):
    return _tokens(oidc, *rp)


@pytest.fixture
def other_rp(oidc):
    return oidc.register_client(name="Autre RP")


def _revoke(oidc, auth, token, **extra):
    return oidc.client.post("/revoke", auth=auth, data={"token": token, **extra})


def _introspect(oidc, auth, token, **extra):
    return oidc.client.post("/introspect", auth=auth, data={"token": token, **extra})


def _assert_grant_alive(oidc, rp, tokens) -> None:
    assert userinfo_status(oidc, tokens["access_token"]) == 200
    refreshed = oidc.refresh(*rp, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()


# --- revocation -------------------------------------------------------------------------

def test_revoking_the_refresh_token_ends_the_grant(oidc, rp, tokens):
    response = _revoke(oidc, rp, tokens["refresh_token"], token_type_hint="refresh_token")
    assert response.status_code == 200
    assert "no-store" in response.headers.get("Cache-Control", "")
    assert_oauth_error(oidc.refresh(*rp, tokens["refresh_token"]), "invalid_grant")
    assert userinfo_status(oidc, tokens["access_token"]) == 401


def test_revoking_the_refresh_token_with_a_wrong_hint_still_works(oidc, rp, tokens):
    assert _revoke(oidc, rp, tokens["refresh_token"],
                   token_type_hint="access_token").status_code == 200
    assert_oauth_error(oidc.refresh(*rp, tokens["refresh_token"]), "invalid_grant")


def test_revoking_the_access_token_leaves_the_grant(oidc, rp, tokens):
    assert _revoke(oidc, rp, tokens["access_token"],
                   token_type_hint="access_token").status_code == 200
    assert userinfo_status(oidc, tokens["access_token"]) == 401
    refreshed = oidc.refresh(*rp, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    assert userinfo_status(oidc, refreshed.get_json()["access_token"]) == 200


def test_revoking_an_unknown_token_is_200(oidc, rp, tokens):
    assert _revoke(oidc, rp, "no-such-token").status_code == 200
    _assert_grant_alive(oidc, rp, tokens)


def test_revoking_another_clients_token_fails_and_changes_nothing(oidc, rp, tokens, other_rp):
    for token in (tokens["refresh_token"], tokens["access_token"]):
        response = _revoke(oidc, other_rp, token)
        assert response.status_code in (400, 401, 403), response.status_code
        assert response.get_json()["error"]
    _assert_grant_alive(oidc, rp, tokens)


def test_revocation_requires_client_authentication(oidc, rp, tokens):
    response = oidc.client.post("/revoke", data={"token": tokens["refresh_token"]})
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_client"
    wrong = _revoke(oidc, (rp[0], "wrong-secret-" + "q" * 30), tokens["refresh_token"])
    assert wrong.status_code == 401
    _assert_grant_alive(oidc, rp, tokens)


def test_revocation_by_get_is_not_allowed(oidc, rp, tokens):
    response = oidc.client.get("/revoke", query_string={"token": tokens["refresh_token"]},
                               auth=rp)
    assert response.status_code == 405
    _assert_grant_alive(oidc, rp, tokens)


# --- introspection ----------------------------------------------------------------------

def test_introspecting_own_access_token(oidc, rp, tokens):
    response = _introspect(oidc, rp, tokens["access_token"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["active"] is True
    assert body["client_id"] == rp[0]
    assert body["sub"] == oidc.client.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).get_json()["sub"]
    assert set(body["scope"].split()) == set(tokens["scope"].split())
    assert isinstance(body["exp"], int) and body["exp"] > time.time()
    assert "no-store" in response.headers.get("Cache-Control", "")


def test_introspecting_own_refresh_token(oidc, rp, tokens):
    body = _introspect(oidc, rp, tokens["refresh_token"]).get_json()
    assert body["active"] is True
    assert body["client_id"] == rp[0]
    assert body["exp"] > time.time()


def test_introspecting_revoked_tokens_is_inactive(oidc, rp, tokens):
    _revoke(oidc, rp, tokens["refresh_token"])
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert _introspect(oidc, rp, token).get_json() == {"active": False}


def test_introspecting_a_rotated_refresh_token_is_inactive(oidc, rp, tokens):
    assert oidc.refresh(*rp, tokens["refresh_token"]).status_code == 200
    assert _introspect(oidc, rp, tokens["refresh_token"]).get_json()["active"] is False


def test_introspecting_an_expired_access_token_is_inactive(make_app, monkeypatch):
    app = make_app(IDP_ACCESS_TOKEN_TTL=60)
    oidc = OIDC(app, app.test_client())
    client_id, secret = oidc.register_client()
    oidc.create_ps()
    clock = install_clock(monkeypatch)
    tokens = _tokens(oidc, client_id, secret)
    clock.advance(61)
    body = _introspect(oidc, (client_id, secret), tokens["access_token"]).get_json()
    assert body == {"active": False}
    # The refresh token lives on.
    body = _introspect(oidc, (client_id, secret), tokens["refresh_token"]).get_json()
    assert body["active"] is True


def test_introspecting_an_unknown_token_is_inactive(oidc, rp, tokens):
    response = _introspect(oidc, rp, "no-such-token")
    assert response.status_code == 200
    assert response.get_json() == {"active": False}


def test_introspecting_another_clients_token_is_inactive_not_an_error(oidc, rp, tokens,
                                                                    other_rp):
    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = _introspect(oidc, other_rp, token)
        assert response.status_code == 200
        assert response.get_json() == {"active": False}
    _assert_grant_alive(oidc, rp, tokens)


def test_introspection_requires_client_authentication(oidc, rp, tokens):
    response = oidc.client.post("/introspect", data={"token": tokens["access_token"]})
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_client"
    assert "active" not in response.get_json()
    wrong = _introspect(oidc, (rp[0], "wrong-secret-" + "q" * 30), tokens["access_token"])
    assert wrong.status_code == 401
