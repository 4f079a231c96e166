"""The token endpoint: single-use codes bound to client, redirect URI and PKCE verifier."""

import pytest
from conftest import OIDC, REDIRECT_URI
from oauth_helpers import (
    OTHER_REDIRECT_URI,
    assert_oauth_error,
    install_clock,
    log_in_browser,
    run_concurrently,
    token_response,
    userinfo_status,
)


@pytest.fixture
def issued(oidc, rp):
    """A fresh code: (client_id, secret, code, verifier)."""
    query, _, verifier = log_in_browser(oidc, rp[0])
    return rp[0], rp[1], query["code"], verifier


def _assert_no_store(response) -> None:
    assert "no-store" in response.headers.get("Cache-Control", ""), response.headers


def test_code_exchange_gives_tokens_once(oidc, issued):
    client_id, secret, code, verifier = issued
    first = token_response(oidc, client_id, secret, code, verifier)
    assert first.status_code == 200
    assert first.mimetype == "application/json"
    body = first.get_json()
    assert body["token_type"] == "Bearer"
    assert body["access_token"] and body["refresh_token"] and body["id_token"]
    assert body["expires_in"] > 0
    _assert_no_store(first)
    assert userinfo_status(oidc, body["access_token"]) == 200
    second = token_response(oidc, client_id, secret, code, verifier)
    assert_oauth_error(second, "invalid_grant")
    _assert_no_store(second)


def test_code_replay_revokes_what_the_code_produced(oidc, issued):
    client_id, secret, code, verifier = issued
    tokens = token_response(oidc, client_id, secret, code, verifier).get_json()
    assert userinfo_status(oidc, tokens["access_token"]) == 200
    assert_oauth_error(token_response(oidc, client_id, secret, code, verifier), "invalid_grant")
    assert userinfo_status(oidc, tokens["access_token"]) == 401
    assert_oauth_error(oidc.refresh(client_id, secret, tokens["refresh_token"]), "invalid_grant")


def test_code_replay_also_revokes_refreshed_tokens(oidc, issued):
    client_id, secret, code, verifier = issued
    tokens = token_response(oidc, client_id, secret, code, verifier).get_json()
    refreshed = oidc.refresh(client_id, secret, tokens["refresh_token"]).get_json()
    assert_oauth_error(token_response(oidc, client_id, secret, code, verifier), "invalid_grant")
    assert userinfo_status(oidc, refreshed["access_token"]) == 401
    assert_oauth_error(oidc.refresh(client_id, secret, refreshed["refresh_token"]),
                       "invalid_grant")


def test_concurrent_redemptions_of_one_code_give_exactly_one_token(oidc, app, issued):
    client_id, secret, code, verifier = issued

    def redeem(_):
        response = token_response(oidc, client_id, secret, code, verifier,
                                  http=app.test_client())
        return response.status_code, response.get_json()

    results = run_concurrently(20, redeem)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) == 1, statuses
    assert all(status == 400 and body["error"] == "invalid_grant"
               for status, body in results if status != 200), results


def test_expired_code_is_invalid_grant(make_app, monkeypatch):
    app = make_app(IDP_CODE_TTL=5)
    oidc = OIDC(app, app.test_client())
    client_id, secret = oidc.register_client()
    oidc.create_ps()
    clock = install_clock(monkeypatch)
    fresh, _, fresh_verifier = log_in_browser(oidc, client_id)
    old, _, old_verifier = log_in_browser(oidc, client_id)
    clock.advance(4)  # within the lifetime
    assert token_response(oidc, client_id, secret, fresh["code"], fresh_verifier).status_code \
        == 200
    clock.advance(2)  # 6 s after issuance
    response = token_response(oidc, client_id, secret, old["code"], old_verifier)
    assert_oauth_error(response, "invalid_grant")


def test_default_code_lifetime_is_short():
    from idp.config import Settings

    assert 0 < Settings().code_ttl <= 600


def test_wrong_code_verifier_is_invalid_grant(oidc, issued):
    client_id, secret, code, _ = issued
    wrong = "W" * 64
    assert_oauth_error(token_response(oidc, client_id, secret, code, wrong), "invalid_grant")


def test_missing_code_verifier_is_refused(oidc, issued):
    client_id, secret, code, _ = issued
    response = token_response(oidc, client_id, secret, code, None)
    assert response.status_code == 400
    assert response.get_json()["error"] in ("invalid_grant", "invalid_request")


def test_verifier_of_another_request_is_invalid_grant(oidc, rp):
    first, _, _ = log_in_browser(oidc, rp[0])
    _, _, other_verifier = log_in_browser(oidc, rp[0])
    response = token_response(oidc, *rp, first["code"], other_verifier)
    assert_oauth_error(response, "invalid_grant")


def test_redirect_uri_mismatch_is_invalid_grant(oidc, issued):
    client_id, secret, code, verifier = issued
    for uri in (REDIRECT_URI + "/", "https://rp.test/other"):
        response = token_response(oidc, client_id, secret, code, verifier, redirect_uri=uri)
        assert_oauth_error(response, "invalid_grant")


def test_missing_redirect_uri_at_token_is_refused(oidc, issued):
    client_id, secret, code, verifier = issued
    response = token_response(oidc, client_id, secret, code, verifier, redirect_uri=None)
    assert response.status_code == 400
    assert response.get_json()["error"] in ("invalid_grant", "invalid_request")


def test_code_of_client_a_redeemed_by_client_b_is_invalid_grant(oidc, issued):
    client_id, secret, code, verifier = issued
    other_id, other_secret = oidc.register_client(name="Autre RP",
                                                  redirect_uris=[REDIRECT_URI])
    response = token_response(oidc, other_id, other_secret, code, verifier)
    assert_oauth_error(response, "invalid_grant")
    third_id, third_secret = oidc.register_client(name="Troisième RP",
                                                  redirect_uris=[OTHER_REDIRECT_URI])
    response = token_response(oidc, third_id, third_secret, code, verifier,
                              redirect_uri=OTHER_REDIRECT_URI)
    assert_oauth_error(response, "invalid_grant")
    # ... and the rightful client can still redeem it.
    assert token_response(oidc, client_id, secret, code, verifier).status_code == 200


def test_tampered_code_is_invalid_grant(oidc, issued):
    client_id, secret, code, verifier = issued
    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    assert_oauth_error(token_response(oidc, client_id, secret, tampered, verifier),
                       "invalid_grant")


def test_client_secret_post(oidc):
    client_id, secret = oidc.register_client(auth_method="client_secret_post")
    oidc.create_ps()
    query, _, verifier = log_in_browser(oidc, client_id)
    response = oidc.client.post("/token", data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier, "client_id": client_id, "client_secret": secret})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["access_token"]


def test_client_secret_post_client_cannot_use_basic(oidc):
    client_id, secret = oidc.register_client(auth_method="client_secret_post")
    oidc.create_ps()
    query, _, verifier = log_in_browser(oidc, client_id)
    response = token_response(oidc, client_id, secret, query["code"], verifier)
    assert response.get_json()["error"] == "invalid_client"


def test_wrong_client_secret_is_401_invalid_client(oidc, issued):
    client_id, _, code, verifier = issued
    response = token_response(oidc, client_id, "not-the-secret-" + "x" * 30, code, verifier)
    assert_oauth_error(response, "invalid_client", status=401)
    _assert_no_store(response)
    # Client authentication failed before the code was looked at: it is still usable.
    assert token_response(oidc, client_id, issued[1], code, verifier).status_code == 200


def test_confidential_client_without_secret_is_invalid_client(oidc, issued):
    client_id, secret, code, verifier = issued
    response = token_response(oidc, client_id, None, code, verifier)
    assert response.status_code in (400, 401)
    assert response.get_json()["error"] == "invalid_client"
    assert token_response(oidc, client_id, secret, code, verifier).status_code == 200


def test_public_client_redeems_with_client_id_and_verifier(oidc):
    client_id, secret = oidc.register_client(auth_method="none", name="Appli publique")
    assert secret is None
    oidc.create_ps()
    query, _, verifier = log_in_browser(oidc, client_id)
    response = token_response(oidc, client_id, None, query["code"], verifier)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["id_token"]


def test_public_client_still_needs_the_verifier(oidc):
    client_id, _ = oidc.register_client(auth_method="none", name="Appli publique")
    oidc.create_ps()
    query, _, _ = log_in_browser(oidc, client_id)
    response = token_response(oidc, client_id, None, query["code"], "W" * 64)
    assert_oauth_error(response, "invalid_grant")


def test_public_client_cannot_pretend_to_have_a_secret(oidc):
    client_id, _ = oidc.register_client(auth_method="none", name="Appli publique")
    oidc.create_ps()
    query, _, verifier = log_in_browser(oidc, client_id)
    response = token_response(oidc, client_id, "made-up-secret-" + "y" * 30, query["code"],
                              verifier)
    assert response.get_json()["error"] == "invalid_client"


def test_unsupported_grant_types(oidc, rp):
    for grant_type in ("password", "client_credentials", "implicit",
                       "urn:ietf:params:oauth:grant-type:device_code"):
        response = oidc.client.post("/token", auth=rp, data={
            "grant_type": grant_type, "username": "kit.doc@example.fr", "password": "x",
            "scope": "openid"})
        assert_oauth_error(response, "unsupported_grant_type")
        _assert_no_store(response)


def test_get_on_token_endpoint_is_405(oidc, issued):
    client_id, secret, code, verifier = issued
    response = oidc.client.get("/token", query_string={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier, "client_id": client_id, "client_secret": secret})
    assert response.status_code == 405
    # The code was not consumed by the GET.
    assert token_response(oidc, client_id, secret, code, verifier).status_code == 200




def _statements_of(app, request) -> list[str]:
    """The SQL statements ``request()`` sends, first word and table, e.g. 'SELECT clients'."""
    import re

    from sqlalchemy import event

    from idp.extensions import db

    seen: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        verb = statement.split(None, 1)[0].upper()
        table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", statement, re.I)
        seen.append(f"{verb} {table.group(1) if table else ''}".strip())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        response = request()
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert response.status_code == 200, response.get_json()
    return seen


def test_code_exchange_and_refresh_read_each_row_once(oidc, rp):
    """No N+1: the client, the code or token row with its account in one query, the claim,
    the new token row; nothing read twice, no account query of its own, no key loading."""
    client_id, secret = rp
    # The first exchange loads the signing keys (kept in memory, refreshed in the background).
    first = oidc.tokens(client_id, secret)
    query, verifier = oidc.code_flow(client_id)
    exchange = _statements_of(oidc.app, lambda: oidc.exchange(client_id, secret, query["code"],
                                                              verifier))
    assert exchange == ["SELECT clients", "SELECT authorization_codes",
                        "UPDATE authorization_codes", "INSERT tokens"], exchange
    refresh = _statements_of(oidc.app, lambda: oidc.refresh(client_id, secret,
                                                            first["refresh_token"]))
    assert refresh == ["SELECT clients", "SELECT tokens", "UPDATE tokens", "INSERT tokens"], \
        refresh
