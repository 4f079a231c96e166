"""Step-up: a relying party requires the card level (eidas3) with acr_values or claims."""

from __future__ import annotations

import base64
import json

import pytest
from conftest import OIDC, PASSWORD, csrf_of, query_of
from cps_support import CardBrowser, cps_app, cps_config, page_text, pki, smtp_server  # noqa: F401

from idp.oauth import acr

KIT_EMAIL = "kit.doc@example.fr"
CARD_LEVEL = {"id_token": {"acr": {"essential": True, "values": ["eidas3"]}}}


@pytest.fixture
def oidc(cps_app):
    """The RP-and-browser helper on the card-enabled app, with KIT's account and a client."""
    helper = OIDC(cps_app, cps_app.test_client())
    helper.client_id, helper.secret = helper.register_client()
    helper.sub = helper.create_ps(email=KIT_EMAIL)
    return helper


def _claims(id_token: str) -> dict:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _password_login(oidc) -> None:
    query, _ = oidc.code_flow(oidc.client_id, identifier=KIT_EMAIL)
    assert "code" in query


def _start(oidc, **extra):
    params, verifier = oidc.authorize_params(oidc.client_id, **extra)
    return oidc.start(params), verifier


def _card_login_from(oidc, response, pki_files) -> dict:
    """Follow the step-up to the card page, log in with KIT's card, return the ID token claims."""
    assert response.status_code == 303
    login = oidc.client.get(response.headers["Location"])
    assert login.status_code == 303 and "/carte-cps" in login.headers["Location"]
    browser = CardBrowser(oidc.client, login.headers["Location"])
    posted = browser.login_with_key(pki_files, "kit")
    assert posted.status_code == 303, page_text(posted)
    callback = oidc.client.get(posted.headers["Location"])
    assert callback.status_code == 302, page_text(callback)
    return query_of(callback.headers["Location"])


@pytest.mark.parametrize("request_level", [
    {"acr_values": "eidas3"},
    {"claims": json.dumps(CARD_LEVEL)},
])
def test_password_session_steps_up_to_the_card(oidc, pki, request_level):
    _password_login(oidc)
    response, verifier = _start(oidc, **request_level)
    query = _card_login_from(oidc, response, pki)
    tokens = oidc.exchange(oidc.client_id, oidc.secret, query["code"], verifier).get_json()
    claims = _claims(tokens["id_token"])
    assert claims["sub"] == oidc.sub
    assert claims["acr"] == "eidas3"
    assert claims["amr"] == ["sc", "pin", "hwk", "mfa"]


def test_password_is_refused_while_the_card_is_required(oidc):
    response, _ = _start(oidc, acr_values="eidas3")
    login_url = response.headers["Location"]
    page = oidc.client.get(login_url)
    assert page.status_code == 303 and "/carte-cps" in page.headers["Location"]
    csrf = csrf_of(oidc.client.get(page.headers["Location"]).get_data(as_text=True))
    # The right password is not even evaluated: the request needs the card.
    posted = oidc.client.post(login_url, data={"identifier": KIT_EMAIL, "password": PASSWORD,
                                               "csrf_token": csrf})
    assert posted.status_code == 303 and "/carte-cps" in posted.headers["Location"]
    silent, _ = _start(oidc, prompt="none")
    assert query_of(silent.headers["Location"])["error"] == "login_required"


def test_prompt_none_below_the_level_is_interaction_required(oidc):
    _password_login(oidc)
    response, _ = _start(oidc, acr_values="eidas3", prompt="none")
    query = query_of(response.headers["Location"])
    assert query["error"] == "interaction_required"
    assert query["state"] == "state-xyz" and "iss" in query


def test_a_sufficient_session_gets_a_code_without_interaction(oidc, pki):
    response, _ = _start(oidc, acr_values="eidas3")
    _card_login_from(oidc, response, pki)
    again, _ = _start(oidc, acr_values="eidas3", prompt="none")
    assert "code" in query_of(again.headers["Location"])
    lower, _ = _start(oidc, acr_values="eidas1", prompt="none")
    assert "code" in query_of(lower.headers["Location"])


def test_max_age_still_forces_a_new_card_login(oidc, pki):
    response, _ = _start(oidc, acr_values="eidas3")
    _card_login_from(oidc, response, pki)
    again, _ = _start(oidc, acr_values="eidas3", max_age="0")
    assert again.status_code == 303 and "/login" in again.headers["Location"]


def test_malformed_claims_parameter_goes_back_as_invalid_request(oidc):
    response, _ = _start(oidc, claims="{not json")
    assert query_of(response.headers["Location"])["error"] == "invalid_request"


def test_without_the_card_method_the_page_says_so(make_app, pki):
    app = make_app()
    helper = OIDC(app, app.test_client())
    client_id, _ = helper.register_client()
    params, _ = helper.authorize_params(client_id, acr_values="eidas3")
    login = helper.client.get(helper.start(params).headers["Location"])
    assert login.status_code == 403
    assert "carte CPS" in page_text(login)


def test_level_rules():
    assert acr.requested_acr("eidas3 eidas1", None) == "eidas1"  # any listed value is acceptable
    assert acr.requested_acr("unknown", None) is None
    assert acr.requested_acr("eidas1", json.dumps(CARD_LEVEL)) == "eidas3"  # the stricter wins
    assert acr.satisfies("eidas3", "eidas1") and not acr.satisfies("eidas1", "eidas3")
    assert acr.satisfies(None, None) and not acr.satisfies(None, "eidas1")
