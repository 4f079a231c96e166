"""ID token: the claims OpenID Connect requires, signed RS256 with a published key."""

import time

from conftest import ISSUER, OIDC
from oauth_helpers import at_hash, decode_id_token, log_in_browser, token_response


def _tokens_and_params(oidc, client_id, secret, **extra):
    query, params, verifier = log_in_browser(oidc, client_id, **extra)
    response = token_response(oidc, client_id, secret, query["code"], verifier)
    assert response.status_code == 200, response.get_json()
    return response.get_json(), params


def test_id_token_claims(oidc):
    client_id, secret = oidc.register_client()
    sub = oidc.create_ps()
    before = int(time.time())
    tokens, params = _tokens_and_params(oidc, client_id, secret, nonce="n-0S6_WzA2Mj")
    decoded = decode_id_token(oidc.client, tokens["id_token"])
    claims = dict(decoded.claims)
    assert claims["iss"] == ISSUER
    assert claims["sub"] == sub
    assert claims["aud"] == client_id or claims["aud"] == [client_id]
    assert before - 1 <= claims["iat"] <= int(time.time()) + 1
    assert claims["exp"] > claims["iat"]
    assert claims["exp"] - claims["iat"] == oidc.app.config["IDP_SETTINGS"].id_token_ttl
    assert before - 1 <= claims["auth_time"] <= claims["iat"]
    assert claims["nonce"] == "n-0S6_WzA2Mj" == params["nonce"]
    assert claims["acr"] == "eidas1"
    assert claims["amr"] == ["pwd"]
    assert isinstance(claims["sid"], str) and claims["sid"]
    assert claims["at_hash"] == at_hash(tokens["access_token"])
    assert decoded.header["alg"] == "RS256"
    assert decoded.header["kid"]
    assert decoded.header["typ"] == "JWT"


def test_no_nonce_in_request_means_no_nonce_claim(oidc):
    client_id, secret = oidc.register_client()
    oidc.create_ps()
    tokens, _ = _tokens_and_params(oidc, client_id, secret, nonce=None)
    assert "nonce" not in decode_id_token(oidc.client, tokens["id_token"]).claims


def test_sub_is_stable_across_logins_and_not_an_identifier(oidc):
    client_id, secret = oidc.register_client()
    sub = oidc.create_ps(email="kit.doc@example.fr", am="123456789", rpps="99700427885")
    subs = set()
    sids = set()
    for identifier in ("kit.doc@example.fr", "123456789"):
        browser = OIDC(oidc.app, oidc.app.test_client())
        tokens = browser.tokens(client_id, secret, identifier=identifier)
        claims = decode_id_token(browser.client, tokens["id_token"]).claims
        subs.add(claims["sub"])
        sids.add(claims["sid"])
    assert subs == {sub}
    assert len(sids) == 2  # two login sessions, one subject
    for personal in ("kit.doc@example.fr", "123456789", "99700427885"):
        assert personal not in sub.lower()
    assert "@" not in sub


def test_two_accounts_have_different_subs(oidc):
    client_id, secret = oidc.register_client()
    first = oidc.create_ps()
    second = oidc.create_ps(email="autre.doc@example.fr", am="223456789", rpps=None)
    assert first != second
    browser = OIDC(oidc.app, oidc.app.test_client())
    tokens = browser.tokens(client_id, secret, identifier="autre.doc@example.fr")
    assert decode_id_token(browser.client, tokens["id_token"]).claims["sub"] == second


def test_id_token_audience_is_the_requesting_client(oidc):
    first_id, first_secret = oidc.register_client()
    second_id, second_secret = oidc.register_client(name="Second RP")
    oidc.create_ps()
    first, _ = _tokens_and_params(oidc, first_id, first_secret)
    second, _ = _tokens_and_params(oidc, second_id, second_secret)
    assert decode_id_token(oidc.client, first["id_token"]).claims["aud"] in (first_id, [first_id])
    assert decode_id_token(oidc.client, second["id_token"]).claims["aud"] in (second_id,
                                                                               [second_id])
