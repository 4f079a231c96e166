"""Discovery document and JWKS: exact issuer, only what is implemented, public keys only."""

import re
from urllib.parse import urlsplit

import pytest
from conftest import ISSUER
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet
from oauth_helpers import decode_id_token

PRIVATE_RSA_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture
def metadata(client):
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    return response.get_json()


def _max_age(cache_control: str) -> int:
    match = re.search(r"max-age=(\d+)", cache_control)
    assert match, cache_control
    return int(match.group(1))


def test_issuer_is_exactly_the_configured_one(metadata):
    assert metadata["issuer"] == ISSUER


def test_issuer_trailing_slash_in_configuration_is_not_published(make_app):
    app = make_app(IDP_ISSUER=ISSUER + "/")
    document = app.test_client().get("/.well-known/openid-configuration").get_json()
    assert document["issuer"] == ISSUER
    assert document["authorization_endpoint"] == ISSUER + "/authorize"


def test_only_code_flow_with_s256_and_iss_parameter(metadata):
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert "fragment" not in metadata.get("response_modes_supported", [])
    assert set(metadata["grant_types_supported"]) <= {"authorization_code", "refresh_token"}
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]
    assert "none" not in metadata["id_token_signing_alg_values_supported"]


ENDPOINTS = {
    "authorization_endpoint": "GET",
    "token_endpoint": "POST",
    "userinfo_endpoint": "GET",
    "jwks_uri": "GET",
    "revocation_endpoint": "POST",
    "introspection_endpoint": "POST",
    "end_session_endpoint": "GET",
}


def test_every_advertised_endpoint_answers(metadata, client):
    for name, method in ENDPOINTS.items():
        url = metadata[name]
        assert url.startswith(ISSUER + "/"), url
        response = client.open(urlsplit(url).path, method=method)
        assert response.status_code != 404, (name, url)
        assert response.status_code < 500, (name, response.status_code)


def test_discovery_and_jwks_are_publicly_cacheable(client):
    for path in ("/.well-known/openid-configuration", "/jwks"):
        cache_control = client.get(path).headers.get("Cache-Control", "")
        assert "public" in cache_control, (path, cache_control)
        assert "no-store" not in cache_control, (path, cache_control)
        assert _max_age(cache_control) > 0, (path, cache_control)


def test_jwks_has_public_members_only_and_a_kid(client):
    response = client.get("/jwks")
    assert response.status_code == 200
    keys = response.get_json()["keys"]
    assert keys
    for key in keys:
        assert key.get("kid"), key
        assert key["kty"] in ("RSA", "EC"), key
        if key["kty"] == "RSA":
            assert {"n", "e"} <= set(key)
        assert not PRIVATE_RSA_MEMBERS & set(key), sorted(key)
    KeySet.import_key_set(response.get_json())  # well-formed


def test_id_token_kid_is_published_and_its_signature_verifies(oidc):
    client_id, secret = oidc.register_client()
    oidc.create_ps()
    id_token = oidc.tokens(client_id, secret)["id_token"]
    kids = {key["kid"] for key in oidc.client.get("/jwks").get_json()["keys"]}
    decoded = decode_id_token(oidc.client, id_token)
    assert decoded.header["kid"] in kids
    assert decoded.claims["iss"] == ISSUER


def test_tampered_id_token_does_not_verify_with_the_jwks(oidc):
    client_id, secret = oidc.register_client()
    oidc.create_ps()
    header, payload, signature = oidc.tokens(client_id, secret)["id_token"].split(".")
    forged_sig = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(BadSignatureError):
        decode_id_token(oidc.client, ".".join([header, payload, forged_sig]))
