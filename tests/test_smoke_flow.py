"""End-to-end code flow through the Flask test client."""

from conftest import REDIRECT_URI


def test_code_flow_gives_id_token_and_userinfo(oidc):
    client_id, secret = oidc.register_client()
    sub = oidc.create_ps()
    tokens = oidc.tokens(client_id, secret)
    assert tokens["token_type"] == "Bearer"
    assert tokens["id_token"] and tokens["refresh_token"]
    info = oidc.client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200
    assert info.get_json()["sub"] == sub
    assert REDIRECT_URI
