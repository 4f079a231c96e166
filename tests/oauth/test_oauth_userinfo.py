"""UserInfo: Bearer tokens only, claims shaped by the granted scopes, RFC 6750 errors."""

from conftest import OIDC
from oauth_helpers import bearer, id_token_claims, install_clock, log_in_browser, token_response

NAME_CLAIMS = {"given_name", "family_name", "name"}
EMAIL_CLAIMS = {"email", "email_verified"}


def _tokens(oidc, client_id, secret, **extra) -> dict:
    query, _, verifier = log_in_browser(oidc, client_id, **extra)
    response = token_response(oidc, client_id, secret, query["code"], verifier)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _assert_invalid_token(response) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.lower().startswith("bearer"), response.headers  # scheme: any case
    assert 'error="invalid_token"' in challenge, challenge


def test_get_and_post_with_bearer_header(oidc, rp):
    tokens = _tokens(oidc, *rp)
    sub = id_token_claims(oidc.client, tokens["id_token"])["sub"]
    for method in ("GET", "POST"):
        response = oidc.client.open("/userinfo", method=method,
                                    headers=bearer(tokens["access_token"]))
        assert response.status_code == 200, (method, response.get_data(as_text=True))
        assert response.get_json()["sub"] == sub
        assert "no-store" in response.headers.get("Cache-Control", "")


def test_email_scope_only_releases_email(oidc, rp):
    tokens = _tokens(oidc, *rp, scope="openid email")
    claims = oidc.client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert claims["email"] == "kit.doc@example.fr"
    assert "email_verified" in claims
    assert not NAME_CLAIMS & set(claims), claims


def test_profile_scope_only_releases_names(oidc, rp):
    tokens = _tokens(oidc, *rp, scope="openid profile")
    claims = oidc.client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert claims["given_name"] == "KIT"
    assert claims["family_name"] == "DOC0042788"
    assert not EMAIL_CLAIMS & set(claims), claims


def test_openid_scope_only_releases_sub(oidc, rp):
    tokens = _tokens(oidc, *rp, scope="openid")
    claims = oidc.client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert set(claims) == {"sub"}


def test_missing_token_is_a_plain_bearer_challenge(oidc, rp):
    response = oidc.client.get("/userinfo")
    assert response.status_code == 401
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.lower().startswith("bearer"), response.headers  # scheme: any case
    # RFC 6750 §3.1: a request without authentication gets no error code ...
    assert "error=" not in challenge, challenge
    # ... nor one using another authentication scheme.
    response = oidc.client.get("/userinfo", headers={"Authorization": "Basic YTpi"})
    assert response.status_code == 401
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.lower().startswith("bearer") and "error=" not in challenge, challenge


def test_unknown_token_is_invalid_token(oidc, rp):
    _assert_invalid_token(oidc.client.get("/userinfo", headers=bearer("not-a-real-token")))


def test_refresh_and_id_tokens_are_not_access_tokens(oidc, rp):
    tokens = _tokens(oidc, *rp)
    _assert_invalid_token(oidc.client.get("/userinfo", headers=bearer(tokens["refresh_token"])))
    _assert_invalid_token(oidc.client.post("/userinfo", headers=bearer(tokens["id_token"])))


def test_token_in_query_string_is_not_accepted(oidc, rp):
    tokens = _tokens(oidc, *rp)
    response = oidc.client.get("/userinfo", query_string={"access_token": tokens["access_token"]})
    assert response.status_code == 401


def test_expired_token_is_invalid_token(make_app, monkeypatch):
    app = make_app(IDP_ACCESS_TOKEN_TTL=60)
    oidc = OIDC(app, app.test_client())
    client_id, secret = oidc.register_client()
    oidc.create_ps()
    clock = install_clock(monkeypatch)
    tokens = _tokens(oidc, client_id, secret)
    assert tokens["expires_in"] == 60
    clock.advance(59)
    assert oidc.client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 200
    clock.advance(2)
    _assert_invalid_token(oidc.client.get("/userinfo", headers=bearer(tokens["access_token"])))


def test_revoked_token_is_invalid_token(oidc, rp):
    tokens = _tokens(oidc, *rp)
    assert oidc.client.post("/revoke", auth=rp,
                            data={"token": tokens["access_token"]}).status_code == 200
    _assert_invalid_token(oidc.client.get("/userinfo", headers=bearer(tokens["access_token"])))


def test_userinfo_reads_outside_a_transaction_and_gives_the_connection_back_as_it_was(make_app):
    """The connection UserInfo used in autocommit mode serves the next token request in a
    transaction again (the single-use claims rely on it)."""
    import sqlite3

    from sqlalchemy import event

    from idp.extensions import db

    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0})
    oidc = OIDC(app, app.test_client())
    client_id, secret = oidc.register_client()
    oidc.create_ps()
    tokens = _tokens(oidc, client_id, secret)
    modes: list[str] = []
    with app.app_context():
        engine = db.engine

    def remember_mode(conn, cursor, statement, parameters, context, executemany):
        raw = conn.connection.dbapi_connection  # what the driver really does
        autocommit = (raw.isolation_level is None if isinstance(raw, sqlite3.Connection)
                      else raw.autocommit is True)
        modes.append("AUTOCOMMIT" if autocommit else "transaction")

    event.listen(engine, "before_cursor_execute", remember_mode)
    try:
        assert oidc.client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code \
            == 200
        userinfo_modes, modes[:] = list(modes), []
        refreshed = oidc.refresh(client_id, secret, tokens["refresh_token"])
        assert refreshed.status_code == 200, refreshed.get_json()
    finally:
        event.remove(engine, "before_cursor_execute", remember_mode)
    assert userinfo_modes and set(userinfo_modes) == {"AUTOCOMMIT"}
    assert modes and "AUTOCOMMIT" not in modes, modes
