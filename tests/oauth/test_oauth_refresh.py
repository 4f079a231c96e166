"""Refresh tokens: rotation, family revocation on replay, idle and absolute lifetimes."""

import pytest
from conftest import OIDC
from oauth_helpers import (
    assert_oauth_error,
    id_token_claims,
    install_clock,
    log_in_browser,
    run_concurrently,
    token_response,
    userinfo_status,
)


def _setup(oidc):
    client_id, secret = oidc.register_client()
    oidc.create_ps()
    return client_id, secret


def _first_tokens(oidc, client_id, secret, **extra) -> dict:
    query, _, verifier = log_in_browser(oidc, client_id, **extra)
    response = token_response(oidc, client_id, secret, query["code"], verifier)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _refresh_ok(oidc, client_id, secret, refresh_token) -> dict:
    response = oidc.refresh(client_id, secret, refresh_token)
    assert response.status_code == 200, response.get_json()
    assert "no-store" in response.headers.get("Cache-Control", "")
    return response.get_json()


@pytest.fixture
def tokens(oidc, rp):
    return _first_tokens(oidc, *rp)


def _app_with(make_app, **settings):
    app = make_app(**settings)
    oidc = OIDC(app, app.test_client())
    return oidc, _setup(oidc)


def test_rotation_returns_a_new_refresh_token_each_time(oidc, rp, tokens):
    seen = {tokens["refresh_token"]}
    current = tokens
    for _ in range(3):
        current = _refresh_ok(oidc, *rp, current["refresh_token"])
        assert current["refresh_token"] not in seen
        assert current["access_token"] != tokens["access_token"]
        seen.add(current["refresh_token"])
        assert userinfo_status(oidc, current["access_token"]) == 200


def test_replay_of_a_rotated_refresh_token_revokes_the_family(oidc, rp, tokens):
    second = _refresh_ok(oidc, *rp, tokens["refresh_token"])
    third = _refresh_ok(oidc, *rp, second["refresh_token"])
    assert_oauth_error(oidc.refresh(*rp, tokens["refresh_token"]), "invalid_grant")
    # The newest refresh token is dead too, and every access token of the family.
    assert_oauth_error(oidc.refresh(*rp, third["refresh_token"]), "invalid_grant")
    for access_token in (tokens["access_token"], second["access_token"],
                         third["access_token"]):
        assert userinfo_status(oidc, access_token) == 401


def test_replay_does_not_touch_another_grant(oidc, rp, tokens):
    other = _first_tokens(oidc, *rp)
    _refresh_ok(oidc, *rp, tokens["refresh_token"])
    assert_oauth_error(oidc.refresh(*rp, tokens["refresh_token"]), "invalid_grant")
    assert userinfo_status(oidc, other["access_token"]) == 200
    _refresh_ok(oidc, *rp, other["refresh_token"])


def test_concurrent_use_of_one_refresh_token_succeeds_at_most_once(oidc, app, rp, tokens):
    def use(_):
        http = app.test_client()
        response = http.post("/token", auth=rp, data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        return response.status_code, response.get_json()

    results = run_concurrently(8, use)
    statuses = [status for status, _ in results]
    assert statuses.count(200) <= 1, statuses
    assert all(body["error"] == "invalid_grant" for status, body in results if status != 200)


def test_refresh_idle_expiry(make_app, monkeypatch):
    oidc, rp = _app_with(make_app, IDP_REFRESH_IDLE_TTL=100, IDP_REFRESH_ABSOLUTE_TTL=1000)
    clock = install_clock(monkeypatch)
    tokens = _first_tokens(oidc, *rp)
    clock.advance(90)
    tokens = _refresh_ok(oidc, *rp, tokens["refresh_token"])  # use slides the idle window
    clock.advance(90)
    tokens = _refresh_ok(oidc, *rp, tokens["refresh_token"])
    clock.advance(101)
    assert_oauth_error(oidc.refresh(*rp, tokens["refresh_token"]), "invalid_grant")


def test_refresh_absolute_expiry(make_app, monkeypatch):
    oidc, rp = _app_with(make_app, IDP_REFRESH_IDLE_TTL=100, IDP_REFRESH_ABSOLUTE_TTL=250)
    clock = install_clock(monkeypatch)
    tokens = _first_tokens(oidc, *rp)
    for _ in range(2):
        clock.advance(90)
        tokens = _refresh_ok(oidc, *rp, tokens["refresh_token"])
    clock.advance(80)  # 260 s after the login, 80 s after the last use
    assert_oauth_error(oidc.refresh(*rp, tokens["refresh_token"]), "invalid_grant")


def test_refresh_absolute_expiry_caps_the_idle_window(make_app, monkeypatch):
    oidc, rp = _app_with(make_app, IDP_REFRESH_IDLE_TTL=100, IDP_REFRESH_ABSOLUTE_TTL=150)
    clock = install_clock(monkeypatch)
    tokens = _first_tokens(oidc, *rp)
    clock.advance(99)
    tokens = _refresh_ok(oidc, *rp, tokens["refresh_token"])
    clock.advance(52)  # still within the idle window, past the absolute lifetime
    assert_oauth_error(oidc.refresh(*rp, tokens["refresh_token"]), "invalid_grant")


def test_refresh_lifetime_defaults():
    from idp.config import Settings

    settings = Settings()
    assert settings.refresh_idle_ttl == 3600
    assert settings.refresh_absolute_ttl == 14400


def test_refresh_by_another_client_is_invalid_grant(oidc, rp, tokens):
    other = oidc.register_client(name="Autre RP")
    assert_oauth_error(oidc.refresh(*other, tokens["refresh_token"]), "invalid_grant")


def test_refresh_with_wrong_secret_is_invalid_client(oidc, rp, tokens):
    response = oidc.refresh(rp[0], "wrong-secret-" + "z" * 30, tokens["refresh_token"])
    assert_oauth_error(response, "invalid_client", status=401)
    _refresh_ok(oidc, *rp, tokens["refresh_token"])


def test_unknown_refresh_token_is_invalid_grant(oidc, rp, tokens):
    assert_oauth_error(oidc.refresh(*rp, tokens["refresh_token"][:-2] + "xx"), "invalid_grant")
    assert_oauth_error(oidc.refresh(*rp, tokens["access_token"]), "invalid_grant")


def test_refresh_cannot_widen_the_scope(oidc, rp):
    tokens = _first_tokens(oidc, *rp, scope="openid email offline_access")
    response = oidc.client.post("/token", auth=rp, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "scope": "openid email profile offline_access"})
    assert response.status_code == 400
    assert response.get_json()["error"] in ("invalid_scope", "invalid_grant")


def test_refreshed_id_token_keeps_subject_and_original_authentication(oidc, rp, monkeypatch):
    clock = install_clock(monkeypatch)
    login_time = int(clock.time())
    tokens = _first_tokens(oidc, *rp)
    original = id_token_claims(oidc.client, tokens["id_token"])
    clock.advance(500)
    refreshed = _refresh_ok(oidc, *rp, tokens["refresh_token"])
    claims = id_token_claims(oidc.client, refreshed["id_token"])
    assert claims["sub"] == original["sub"]
    assert claims["aud"] == rp[0]
    assert claims["auth_time"] == login_time
    assert claims["iat"] == login_time + 500
    assert claims["acr"] == "eidas1"
    assert claims["amr"] == ["pwd"]
    assert claims["sid"] == original["sid"]


def test_concurrent_replays_never_deadlock_the_family_revocation(oidc, rp):
    """Rounds of 16 simultaneous uses of one refresh token: the losers all revoke the family
    at once. Before their rows were locked in id order, PostgreSQL broke some of them as
    deadlocks (14 HTTP 500 in 400 requests, measured)."""
    client_id, secret = rp
    failures = []
    for _ in range(25):
        refresh_token = oidc.tokens(client_id, secret)["refresh_token"]

        def use(_, refresh_token=refresh_token):
            response = oidc.app.test_client().post("/token", auth=rp, data={
                "grant_type": "refresh_token", "refresh_token": refresh_token})
            return response.status_code, response.get_json()

        results = run_concurrently(16, use)
        assert [status for status, _ in results].count(200) <= 1
        failures += [(status, body) for status, body in results
                     if status != 200 and body.get("error") != "invalid_grant"]
    assert failures == [], failures[:3]
