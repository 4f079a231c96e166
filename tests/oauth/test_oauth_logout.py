"""RP-initiated logout: registered return addresses only, confirmation without proof."""

import re

import pytest
from conftest import ISSUER, OIDC, POST_LOGOUT_URI, csrf_of
from oauth_helpers import (
    assert_error_page,
    assert_oauth_error,
    authorize,
    location,
    log_in_browser,
    rp_redirect,
    token_response,
    userinfo_status,
)


@pytest.fixture
def session_tokens(oidc, rp):
    """The browser is logged in; the tokens issued in that session."""
    query, _, verifier = log_in_browser(oidc, rp[0])
    response = token_response(oidc, *rp, query["code"], verifier)
    assert response.status_code == 200
    return response.get_json()


def _logged_in(oidc, client_id) -> bool:
    """Whether the browser still has a login (probed with prompt=none)."""
    query = rp_redirect(authorize(oidc, client_id, prompt="none")[0])
    if query.get("error") == "login_required":
        return False
    assert "code" in query, query
    return True


def test_logout_with_hint_and_registered_uri_redirects_with_state(oidc, rp, session_tokens):
    response = oidc.client.get("/logout", query_string={
        "id_token_hint": session_tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI,
        "state": "bye & é=1"})
    assert response.status_code == 303
    target = location(response)
    assert target.startswith(POST_LOGOUT_URI + "?")
    assert rp_redirect(response, POST_LOGOUT_URI)["state"] == "bye & é=1"
    # The session is gone ...
    query = rp_redirect(authorize(oidc, rp[0], prompt="none")[0])
    assert query["error"] == "login_required" and query["iss"] == ISSUER
    # ... and so are the tokens issued in it.
    assert userinfo_status(oidc, session_tokens["access_token"]) == 401
    assert_oauth_error(oidc.refresh(*rp, session_tokens["refresh_token"]), "invalid_grant")


def test_logout_without_state_adds_none(oidc, rp, session_tokens):
    response = oidc.client.get("/logout", query_string={
        "id_token_hint": session_tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI})
    assert response.status_code == 303
    assert location(response) == POST_LOGOUT_URI


def test_logout_leaves_other_sessions_tokens_alone(oidc, rp, session_tokens):
    other_browser = OIDC(oidc.app, oidc.app.test_client())
    other_tokens = other_browser.tokens(*rp)
    oidc.client.get("/logout", query_string={
        "id_token_hint": session_tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI})
    assert userinfo_status(oidc, session_tokens["access_token"]) == 401
    assert userinfo_status(oidc, other_tokens["access_token"]) == 200


def test_unregistered_post_logout_uri_gets_our_page(oidc, rp, session_tokens):
    for uri in ("https://attacker.test/bye", POST_LOGOUT_URI + "/", POST_LOGOUT_URI + "x"):
        response = oidc.client.get("/logout", query_string={
            "id_token_hint": session_tokens["id_token"], "post_logout_redirect_uri": uri})
        assert_error_page(response)
    assert _logged_in(oidc, rp[0])
    assert userinfo_status(oidc, session_tokens["access_token"]) == 200


def test_post_logout_uri_of_another_client_is_refused(oidc, rp, session_tokens):
    oidc.register_client(name="Autre RP", post_logout_redirect_uris=["https://other.test/bye"])
    response = oidc.client.get("/logout", query_string={
        "id_token_hint": session_tokens["id_token"],
        "post_logout_redirect_uri": "https://other.test/bye"})
    assert_error_page(response)
    assert _logged_in(oidc, rp[0])


def _confirmation_form(response) -> str:
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(r'<form[^>]*method="post"', page)
    assert 'name="csrf_token"' in page
    assert re.search(r'name="decision"[^>]*value="logout"', page)
    return page


def test_logout_without_hint_asks_for_confirmation(oidc, rp, session_tokens):
    page = _confirmation_form(oidc.client.get("/logout"))
    assert _logged_in(oidc, rp[0])  # asking did not log out
    response = oidc.client.post("/logout", data={"csrf_token": csrf_of(page),
                                                 "decision": "logout"})
    assert response.status_code in (200, 303)
    assert not _logged_in(oidc, rp[0])
    assert userinfo_status(oidc, session_tokens["access_token"]) == 401


def test_confirmation_keeps_the_post_logout_redirect(oidc, rp, session_tokens):
    page = _confirmation_form(oidc.client.get("/logout", query_string={
        "client_id": rp[0], "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "s1"}))
    response = oidc.client.post("/logout", data={
        "csrf_token": csrf_of(page), "decision": "logout", "client_id": rp[0],
        "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "s1"})
    assert response.status_code == 303
    assert rp_redirect(response, POST_LOGOUT_URI)["state"] == "s1"
    assert not _logged_in(oidc, rp[0])


def test_choosing_to_stay_keeps_the_session(oidc, rp, session_tokens):
    page = _confirmation_form(oidc.client.get("/logout"))
    response = oidc.client.post("/logout", data={"csrf_token": csrf_of(page),
                                                 "decision": "stay"})
    assert response.status_code == 200
    assert _logged_in(oidc, rp[0])
    assert userinfo_status(oidc, session_tokens["access_token"]) == 200


def test_logout_post_without_csrf_is_400(oidc, rp, session_tokens):
    _confirmation_form(oidc.client.get("/logout"))
    response = oidc.client.post("/logout", data={"decision": "logout"})
    assert response.status_code == 400
    response = oidc.client.post("/logout", data={"decision": "logout", "csrf_token": "forged"})
    assert response.status_code == 400
    assert _logged_in(oidc, rp[0])
    assert userinfo_status(oidc, session_tokens["access_token"]) == 200


def test_hint_of_an_earlier_session_asks_for_confirmation(oidc, rp, session_tokens):
    # Log out, log in again: the old ID token does not prove the request comes from the
    # client of the current session.
    oidc.client.get("/logout", query_string={"id_token_hint": session_tokens["id_token"]})
    assert not _logged_in(oidc, rp[0])
    log_in_browser(oidc, rp[0])
    response = oidc.client.get("/logout", query_string={
        "id_token_hint": session_tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI})
    _confirmation_form(response)
    assert _logged_in(oidc, rp[0])


def test_forged_hint_is_refused(oidc, rp, session_tokens):
    head, payload, sig = session_tokens["id_token"].split(".")
    forged = ".".join([head, payload, ("A" if sig[0] != "A" else "B") + sig[1:]])
    response = oidc.client.get("/logout", query_string={
        "id_token_hint": forged, "post_logout_redirect_uri": POST_LOGOUT_URI})
    assert_error_page(response)
    assert _logged_in(oidc, rp[0])
