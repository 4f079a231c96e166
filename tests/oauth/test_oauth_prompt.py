"""prompt, max_age, id_token_hint, login_hint and the consent of non first-party clients."""

import html
import re

import pytest
from conftest import ISSUER, OIDC
from oauth_helpers import (
    answer_consent,
    authorize,
    id_token_claims,
    install_clock,
    is_consent_redirect,
    is_login_redirect,
    location,
    log_in_browser,
    login,
    rp_redirect,
    token_response,
)

OTHER_EMAIL = "autre.doc@example.fr"


@pytest.fixture
def third_party(oidc):
    """A client that is not first-party (consent needed) and an account."""
    client_id, secret = oidc.register_client(name="Logiciel Tiers", first_party=False)
    oidc.create_ps()
    return client_id, secret


def _error_redirect(response, error: str) -> dict:
    query = rp_redirect(response)
    assert query.get("error") == error, query
    assert query.get("iss") == ISSUER
    assert query.get("state") == "state-xyz"
    assert "code" not in query
    return query


def _id_token(oidc, client_id, secret, query, verifier) -> dict:
    response = token_response(oidc, client_id, secret, query["code"], verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    return id_token_claims(oidc.client, response.get_json()["id_token"])


# --- prompt=none ------------------------------------------------------------------------

def test_prompt_none_without_session_is_login_required(oidc, rp):
    response, _, _ = authorize(oidc, rp[0], prompt="none")
    _error_redirect(response, "login_required")


def test_prompt_none_when_logged_in_gives_a_code(oidc, rp):
    log_in_browser(oidc, rp[0])
    response, _, verifier = authorize(oidc, rp[0], prompt="none")
    query = rp_redirect(response)
    assert query["code"] and query["iss"] == ISSUER
    assert _id_token(oidc, *rp, query, verifier)["iss"] == ISSUER


def test_prompt_none_with_another_value_is_invalid_request(oidc, rp):
    # The client and redirect URI are valid: the error goes back to the client (RFC 6749
    # §4.1.2.1), not to an IdP error page.
    for prompt in ("none login", "login none", "none consent"):
        response, _, _ = authorize(oidc, rp[0], prompt=prompt)
        _error_redirect(response, "invalid_request")


def test_malformed_max_age_is_invalid_request(oidc, rp):
    log_in_browser(oidc, rp[0])
    for max_age in ("abc", "-1", "1.5"):
        response, _, _ = authorize(oidc, rp[0], max_age=max_age)
        _error_redirect(response, "invalid_request")


# --- prompt=login and max_age -----------------------------------------------------------

def test_prompt_login_forces_a_new_login_with_a_new_auth_time(oidc, rp, monkeypatch):
    clock = install_clock(monkeypatch)
    first_login = int(clock.time())
    log_in_browser(oidc, rp[0])
    clock.advance(50)
    response, _, verifier = authorize(oidc, rp[0], prompt="login")
    assert is_login_redirect(response)
    query = rp_redirect(login(oidc, response))
    claims = _id_token(oidc, *rp, query, verifier)
    assert claims["auth_time"] == first_login + 50


def test_prompt_login_does_not_loop_after_the_login(oidc, rp):
    # Once the user logged in for this very request, the request completes.
    response, _, _ = authorize(oidc, rp[0], prompt="login")
    assert is_login_redirect(response)
    assert rp_redirect(login(oidc, response))["code"]


def test_max_age_zero_forces_a_login(oidc, rp):
    log_in_browser(oidc, rp[0])
    response, _, _ = authorize(oidc, rp[0], max_age="0")
    assert is_login_redirect(response)


def test_max_age_zero_forces_a_login_even_within_the_same_second(oidc, rp, monkeypatch):
    # OpenID Connect Core §3.1.2.1: "max_age=0 is equivalent to prompt=login".
    install_clock(monkeypatch)  # frozen: the request comes in the second of the login
    log_in_browser(oidc, rp[0])
    response, _, _ = authorize(oidc, rp[0], max_age="0")
    assert is_login_redirect(response)


def test_max_age_older_than_login_forces_a_login(oidc, rp, monkeypatch):
    clock = install_clock(monkeypatch)
    log_in_browser(oidc, rp[0])
    clock.advance(120)
    response, _, verifier = authorize(oidc, rp[0], max_age="60")
    assert is_login_redirect(response)
    query = rp_redirect(login(oidc, response))
    assert _id_token(oidc, *rp, query, verifier)["auth_time"] == int(clock.time())


def test_max_age_younger_than_login_gives_a_code(oidc, rp, monkeypatch):
    clock = install_clock(monkeypatch)
    login_time = int(clock.time())
    log_in_browser(oidc, rp[0])
    clock.advance(30)
    response, _, verifier = authorize(oidc, rp[0], max_age="300")
    query = rp_redirect(response)
    assert _id_token(oidc, *rp, query, verifier)["auth_time"] == login_time


def test_max_age_too_old_with_prompt_none_is_login_required(oidc, rp, monkeypatch):
    clock = install_clock(monkeypatch)
    log_in_browser(oidc, rp[0])
    clock.advance(120)
    response, _, _ = authorize(oidc, rp[0], max_age="60", prompt="none")
    _error_redirect(response, "login_required")


def test_auth_time_is_the_login_time_not_the_issuance_time(oidc, rp, monkeypatch):
    clock = install_clock(monkeypatch)
    login_time = int(clock.time())
    log_in_browser(oidc, rp[0])
    clock.advance(100)
    response, _, verifier = authorize(oidc, rp[0])  # single sign-on, no new login
    claims = _id_token(oidc, *rp, rp_redirect(response), verifier)
    assert claims["auth_time"] == login_time
    assert claims["iat"] == login_time + 100


def test_auth_time_survives_a_slow_code_exchange(make_app, monkeypatch):
    app = make_app(IDP_CODE_TTL=600)
    oidc = OIDC(app, app.test_client())
    client_id, secret = oidc.register_client()
    oidc.create_ps()
    clock = install_clock(monkeypatch)
    login_time = int(clock.time())
    query, _, verifier = log_in_browser(oidc, client_id)
    clock.advance(100)
    claims = _id_token(oidc, client_id, secret, query, verifier)
    assert claims["auth_time"] == login_time
    assert claims["iat"] == login_time + 100


# --- id_token_hint and login_hint -------------------------------------------------------

def _id_token_of_other_user(oidc, client_id, secret) -> str:
    oidc.create_ps(email=OTHER_EMAIL, am="223456789", rpps=None,
                   given_name="AUTRE", family_name="DOCTEUR")
    other_browser = OIDC(oidc.app, oidc.app.test_client())
    tokens = other_browser.tokens(client_id, secret, identifier=OTHER_EMAIL)
    return tokens["id_token"]


def test_id_token_hint_of_another_user_with_prompt_none_is_login_required(oidc, rp):
    other_hint = _id_token_of_other_user(oidc, *rp)
    log_in_browser(oidc, rp[0])
    response, _, _ = authorize(oidc, rp[0], prompt="none", id_token_hint=other_hint)
    _error_redirect(response, "login_required")


def test_id_token_hint_of_another_user_without_prompt_asks_for_a_login(oidc, rp):
    other_hint = _id_token_of_other_user(oidc, *rp)
    log_in_browser(oidc, rp[0])
    response, _, _ = authorize(oidc, rp[0], id_token_hint=other_hint)
    assert is_login_redirect(response)


def test_id_token_hint_of_the_same_user_with_prompt_none_gives_a_code(oidc, rp):
    query, _, verifier = log_in_browser(oidc, rp[0])
    own_hint = token_response(oidc, *rp, query["code"], verifier).get_json()["id_token"]
    response, _, _ = authorize(oidc, rp[0], prompt="none", id_token_hint=own_hint)
    assert rp_redirect(response)["code"]


def test_forged_id_token_hint_with_prompt_none_is_login_required(oidc, rp):
    query, _, verifier = log_in_browser(oidc, rp[0])
    own_hint = token_response(oidc, *rp, query["code"], verifier).get_json()["id_token"]
    head, payload, sig = own_hint.split(".")
    forged = ".".join([head, payload, ("A" if sig[0] != "A" else "B") + sig[1:]])
    response, _, _ = authorize(oidc, rp[0], prompt="none", id_token_hint=forged)
    _error_redirect(response, "login_required")


def test_login_hint_prefills_the_identifier(oidc, rp):
    response, _, _ = authorize(oidc, rp[0], login_hint="pre.rempli@example.fr")
    assert is_login_redirect(response)
    page = html.unescape(oidc.client.get(location(response)).get_data(as_text=True))
    field = re.search(r'<input[^>]*name="identifier"[^>]*>', page, re.S)
    assert field, "no identifier field"
    assert 'value="pre.rempli@example.fr"' in field.group(0)


def test_login_hint_is_escaped_in_the_login_page(oidc, rp):
    response, _, _ = authorize(oidc, rp[0], login_hint='"><script>alert(1)</script>')
    page = oidc.client.get(location(response)).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page


# --- consent ----------------------------------------------------------------------------

def _consent_page(oidc, response) -> str:
    assert is_consent_redirect(response), (response.status_code, response.headers)
    page = oidc.client.get(location(response))
    assert page.status_code == 200
    return html.unescape(page.get_data(as_text=True))


def test_third_party_client_shows_consent_with_french_scope_descriptions(oidc, third_party):
    response, _, _ = authorize(oidc, third_party[0], scope="openid profile email")
    page = _consent_page(oidc, login(oidc, response))
    assert "Logiciel Tiers" in page
    assert "Votre adresse e-mail" in page
    assert "Vos nom et prénom" in page
    assert "Un accès maintenu" not in page  # offline_access was not requested
    assert 'name="decision"' in page and 'value="allow"' in page and 'value="deny"' in page


def test_consent_allow_gives_a_code(oidc, third_party):
    response, params, verifier = authorize(oidc, third_party[0])
    query = rp_redirect(answer_consent(oidc, login(oidc, response), "allow"))
    assert query["iss"] == ISSUER and query["state"] == params["state"]
    assert _id_token(oidc, *third_party, query, verifier)["aud"] == third_party[0]


def test_consent_deny_is_access_denied(oidc, third_party):
    response, _, _ = authorize(oidc, third_party[0])
    _error_redirect(answer_consent(oidc, login(oidc, response), "deny"), "access_denied")


def test_consent_is_remembered(oidc, third_party):
    response, _, _ = authorize(oidc, third_party[0])
    rp_redirect(answer_consent(oidc, login(oidc, response), "allow"))
    response, _, _ = authorize(oidc, third_party[0])
    assert rp_redirect(response)["code"]
    response, _, _ = authorize(oidc, third_party[0], prompt="none")
    assert rp_redirect(response)["code"]


def test_denial_is_not_remembered_as_consent(oidc, third_party):
    response, _, _ = authorize(oidc, third_party[0])
    answer_consent(oidc, login(oidc, response), "deny")
    response, _, _ = authorize(oidc, third_party[0])
    assert is_consent_redirect(response)


def test_prompt_consent_shows_the_page_again(oidc, third_party):
    response, _, _ = authorize(oidc, third_party[0])
    rp_redirect(answer_consent(oidc, login(oidc, response), "allow"))
    response, _, _ = authorize(oidc, third_party[0], prompt="consent")
    assert is_consent_redirect(response)
    assert rp_redirect(answer_consent(oidc, response, "allow"))["code"]


def test_more_scopes_than_consented_asks_again(oidc, third_party):
    response, _, _ = authorize(oidc, third_party[0], scope="openid email")
    rp_redirect(answer_consent(oidc, login(oidc, response), "allow"))
    response, _, _ = authorize(oidc, third_party[0], scope="openid email profile")
    assert "Vos nom et prénom" in _consent_page(oidc, response)


def test_prompt_none_with_consent_needed_is_consent_required(oidc, rp):
    third_party_id, _ = oidc.register_client(name="Logiciel Tiers", first_party=False)
    log_in_browser(oidc, rp[0])  # logged in through a first-party client
    response, _, _ = authorize(oidc, third_party_id, prompt="none")
    _error_redirect(response, "consent_required")


def test_first_party_client_does_not_ask_for_consent(oidc, rp):
    response, _, _ = authorize(oidc, rp[0])
    response = login(oidc, response)
    assert not is_consent_redirect(response)
    assert rp_redirect(response)["code"]
