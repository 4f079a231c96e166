"""The authorization endpoint: code flow with PKCE S256 only, strict redirect URIs, RFC 9207."""

import html
import re
from urllib.parse import urlsplit

import pytest
from conftest import ISSUER, REDIRECT_URI
from oauth_helpers import (
    assert_error_page,
    authorize,
    is_login_redirect,
    location,
    log_in_browser,
    login,
    rp_redirect,
    token_response,
)


@pytest.fixture
def logged_in(oidc, rp):
    """The browser is logged in; return (client_id, secret)."""
    log_in_browser(oidc, rp[0])
    return rp


def _assert_error_redirect(response, error: str, state: str | None = "state-xyz") -> dict:
    query = rp_redirect(response)
    assert query.get("error") == error, query
    assert query.get("iss") == ISSUER, query
    assert "code" not in query
    if state is not None:
        assert query.get("state") == state
    return query


def test_implicit_and_hybrid_response_types_are_refused(oidc, rp):
    for response_type in ("token", "id_token", "code id_token", "id_token token",
                          "code token", "code id_token token"):
        response, _, _ = authorize(oidc, rp[0], response_type=response_type)
        _assert_error_redirect(response, "unsupported_response_type")


def test_refusals_also_apply_when_logged_in(oidc, logged_in):
    response, _, _ = authorize(oidc, logged_in[0], response_type="token")
    query = _assert_error_redirect(response, "unsupported_response_type")
    assert "access_token" not in query
    assert "#" not in location(response)
    response, _, _ = authorize(oidc, logged_in[0], code_challenge_method="plain")
    _assert_error_redirect(response, "invalid_request")


def test_missing_code_challenge_is_invalid_request(oidc, rp):
    response, _, _ = authorize(oidc, rp[0], code_challenge=None, code_challenge_method=None)
    _assert_error_redirect(response, "invalid_request")
    response, _, _ = authorize(oidc, rp[0], code_challenge=None)
    _assert_error_redirect(response, "invalid_request")


def test_malformed_code_challenge_is_invalid_request(oidc, rp):
    for challenge in ("short", "a" * 129, "!" * 43):
        response, _, _ = authorize(oidc, rp[0], code_challenge=challenge)
        _assert_error_redirect(response, "invalid_request")


def test_plain_code_challenge_method_is_refused(oidc, rp):
    response, _, _ = authorize(oidc, rp[0], code_challenge="a" * 43,
                               code_challenge_method="plain")
    _assert_error_redirect(response, "invalid_request")


def test_absent_code_challenge_method_is_refused(oidc, rp):
    # Without a method RFC 7636 means "plain": refused like plain.
    response, _, _ = authorize(oidc, rp[0], code_challenge_method=None)
    _assert_error_redirect(response, "invalid_request")


def test_unknown_client_gets_our_page_and_no_redirect(oidc, rp):
    response, _, _ = authorize(oidc, "no-such-client")
    assert_error_page(response)


UNREGISTERED_REDIRECT_URIS = [
    "https://attacker.test/callback",
    REDIRECT_URI + "/",                 # trailing slash
    REDIRECT_URI + "x",                 # suffix
    REDIRECT_URI + "/../evil",          # path suffix
    REDIRECT_URI[:-1],                  # prefix
    "https://rp.test/Callback",         # case of the path
    "https://RP.test/callback",         # case of the host
    REDIRECT_URI + "?next=https://attacker.test",
    "http://rp.test/callback",          # scheme
    "https://rp.test:443/callback",     # explicit port
    "https://rp.test.attacker.test/callback",
]


def test_unregistered_redirect_uri_gets_our_page_and_no_redirect(oidc, rp):
    for redirect_uri in UNREGISTERED_REDIRECT_URIS:
        response, _, _ = authorize(oidc, rp[0], redirect_uri=redirect_uri)
        assert_error_page(response)


def test_unregistered_redirect_uri_no_redirect_when_logged_in(oidc, logged_in):
    for redirect_uri in (REDIRECT_URI + "/", REDIRECT_URI.upper()):
        response, _, _ = authorize(oidc, logged_in[0], redirect_uri=redirect_uri)
        assert_error_page(response)


def test_unregistered_redirect_uri_no_redirect_even_with_another_error(oidc, rp):
    # An error that would normally be redirected must not go to an unverified URI.
    response, _, _ = authorize(oidc, rp[0], redirect_uri="https://attacker.test/cb",
                               response_type="token", code_challenge=None)
    assert_error_page(response)


def test_missing_redirect_uri_gets_our_page(oidc, rp):
    response, _, _ = authorize(oidc, rp[0], redirect_uri=None)
    assert_error_page(response)


def test_success_redirect_carries_iss_and_state(oidc, logged_in):
    response, params, _ = authorize(oidc, logged_in[0])
    query = rp_redirect(response)
    assert query["code"]
    assert query["iss"] == ISSUER
    assert query["state"] == params["state"]
    assert "no-store" in response.headers.get("Cache-Control", "")


STRANGE_STATE = "a b+c/d?é ü 漢字 &x=y&=%20%&#frag"


def test_state_is_returned_verbatim_in_success(oidc, logged_in):
    response, _, _ = authorize(oidc, logged_in[0], state=STRANGE_STATE)
    assert rp_redirect(response)["state"] == STRANGE_STATE


def test_success_after_login_carries_iss_and_verbatim_state(oidc, rp):
    response, _, _ = authorize(oidc, rp[0], state=STRANGE_STATE)
    assert is_login_redirect(response)
    query = rp_redirect(login(oidc, response))
    assert query["code"] and query["iss"] == ISSUER and query["state"] == STRANGE_STATE


def test_state_is_returned_verbatim_in_errors(oidc, rp):
    response, _, _ = authorize(oidc, rp[0], state=STRANGE_STATE, response_type="token")
    _assert_error_redirect(response, "unsupported_response_type", state=STRANGE_STATE)


def test_no_state_in_request_means_none_in_response(oidc, logged_in):
    response, _, _ = authorize(oidc, logged_in[0], state=None)
    assert "state" not in rp_redirect(response)


def _form_fields(body: str) -> dict[str, str]:
    return {html.unescape(name): html.unescape(value) for name, value in re.findall(
        r'<input[^>]*name="([^"]*)"[^>]*value="([^"]*)"', body)}


def test_form_post_response_mode(oidc, logged_in):
    client_id, secret = logged_in
    response, _, verifier = authorize(oidc, client_id, response_mode="form_post",
                                           state=STRANGE_STATE)
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    form = re.search(r'<form[^>]*method="post"[^>]*action="([^"]*)"', body)
    assert form and html.unescape(form.group(1)) == REDIRECT_URI
    fields = _form_fields(body)
    assert fields["state"] == STRANGE_STATE
    assert fields["iss"] == ISSUER
    assert fields["code"]
    csp = response.headers["Content-Security-Policy"]
    assert "form-action https://rp.test" in csp, csp
    assert "no-store" in response.headers.get("Cache-Control", "")
    # And the posted code is a real one.
    assert token_response(oidc, client_id, secret, fields["code"], verifier).status_code == 200


def test_form_post_error_response(oidc, rp):
    response, _, _ = authorize(oidc, rp[0], response_mode="form_post", prompt="none")
    assert response.status_code == 200
    fields = _form_fields(response.get_data(as_text=True))
    assert fields["error"] == "login_required"
    assert fields["iss"] == ISSUER
    assert fields["state"] == "state-xyz"


def test_other_response_modes_are_refused(oidc, logged_in):
    for mode in ("fragment", "web_message", "query.jwt"):
        response, _, _ = authorize(oidc, logged_in[0], response_mode=mode)
        if response.status_code == 400:
            assert_error_page(response)
        else:
            _assert_error_redirect(response, "invalid_request")
        assert "#" not in response.headers.get("Location", "")


def test_unknown_extra_parameters_are_ignored(oidc, logged_in):
    response, _, _ = authorize(oidc, logged_in[0], foo="bar", ui_locales="fr-FR",
                               unknown_param="x" * 100)
    assert rp_redirect(response)["code"]


def test_parameter_longer_than_2048_is_refused(oidc, logged_in):
    response, _, _ = authorize(oidc, logged_in[0], login_hint="a" * 2049)
    if response.status_code == 400:
        assert_error_page(response)
    else:
        _assert_error_redirect(response, "invalid_request")
    response, _, _ = authorize(oidc, logged_in[0], login_hint="a" * 2048)  # the limit itself
    assert rp_redirect(response)["code"]


def test_post_to_authorize_works_like_get(oidc, logged_in):
    client_id, secret = logged_in
    params, verifier = oidc.authorize_params(client_id)
    response = oidc.client.post("/authorize", data=params)
    assert response.status_code == 303  # never 307 after a POST (RFC 9700 §4.12)
    query = rp_redirect(response)
    assert query["iss"] == ISSUER and query["state"] == params["state"]
    assert token_response(oidc, client_id, secret, query["code"], verifier).status_code == 200


def test_post_to_authorize_without_session_goes_to_login(oidc, rp):
    params, _ = oidc.authorize_params(rp[0])
    response = oidc.client.post("/authorize", data=params)
    assert is_login_redirect(response)
    query = rp_redirect(login(oidc, response))
    assert query["code"] and query["state"] == params["state"]


def test_post_to_authorize_refuses_like_get(oidc, rp):
    params, _ = oidc.authorize_params(rp[0], code_challenge_method="plain")
    _assert_error_redirect(oidc.client.post("/authorize", data=params), "invalid_request")


def test_scopes_the_client_is_not_registered_for_are_not_granted(oidc, logged_in):
    client_id, secret = logged_in
    response, _, verifier = authorize(oidc, client_id, scope="openid email admin")
    query = rp_redirect(response)
    tokens = token_response(oidc, client_id, secret, query["code"], verifier).get_json()
    assert "admin" not in tokens["scope"].split()


def test_login_page_redirect_does_not_leak_the_request(oidc, rp):
    response, params, _ = authorize(oidc, rp[0])
    assert is_login_redirect(response)
    target = urlsplit(location(response))
    assert params["code_challenge"] not in target.query
    assert params["nonce"] not in target.query
