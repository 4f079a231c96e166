"""Interoperability of the card login: openid-client asks for eidas3 and gets it from a CPS card.

The whole path runs for real: pcscd + vsmartcard-vpcd + the virtual ``kit`` card →
``idp-card-agent`` (pyscard) → the card login page's protocol (``rp_card_flow.mjs``
does what ``idp/static/card_login.js`` does, with the page's headers) → the IdP
(``python -m idp run`` with ``IDP_AUTHENTICATORS=password,cps`` and a test PKI) →
an ID token that openid-client validates, then UserInfo.

Needs Node.js >= 20, pcscd and vsmartcard-vpcd; without them the tests skip, except
under ``CI=true`` where they fail.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import CardStack
from .test_openid_client import INTEROP_DIR, RP_TIMEOUT_S, node  # noqa: F401  (fixture)

REDIRECT_URI = "http://127.0.0.1:8765/interop/card/callback"  # never fetched
SCOPE = "openid profile email"
WRONG_PIN = "0000"


@dataclass(repr=False)
class CardFlow:
    result: dict
    stderr: str
    stack: CardStack
    account: dict
    client: dict
    card: Any  # the VirtualCps in the reader
    seconds: float

    def __repr__(self) -> str:
        return f"<CardFlow ok={self.result.get('ok')} step={self.result.get('step')}>"

    def summary(self) -> str:
        r = self.result
        head = (f"rp_card_flow ok={r.get('ok')} step={r.get('step')} error={r.get('error')} "
                f"code={r.get('code')} oauth_error={r.get('oauth_error')}")
        cause = json.dumps(r.get("cause"), indent=1, ensure_ascii=False)[:4000]
        stderr = f"\n--- node stderr ---\n{self.stderr[-2000:]}" if self.stderr.strip() else ""
        return (f"{head}\ncause: {cause}{stderr}\n{self.stack.idp.server_logs()}\n"
                f"{self.stack.agent_logs()}")

    def need(self, key: str):
        if key not in self.result:
            pytest.fail(f"the card flow did not reach '{key}':\n{self.summary()}", pytrace=False)
        return self.result[key]


@pytest.fixture(scope="module")
def card_flow(node, card_stack, card_account, inserted_card) -> CardFlow:  # noqa: F811
    created = card_stack.idp.cli(
        "clients", "create", "--name", "Interop RP (carte CPS)", "--redirect-uri", REDIRECT_URI,
        "--scope", SCOPE, "--confidential", "--first-party", "--json")
    assert created.get("client_id") and created.get("client_secret"), created
    args = {"issuer": card_stack.idp.issuer, "client_id": created["client_id"],
            "client_secret": created["client_secret"], "redirect_uri": REDIRECT_URI,
            "scope": SCOPE, "acr_values": "eidas3", "pin": card_stack.pin, "wrong_pin": WRONG_PIN}
    started = time.perf_counter()
    proc = subprocess.run([node, "rp_card_flow.mjs", json.dumps(args)], cwd=INTEROP_DIR,
                          capture_output=True, text=True, check=False, timeout=RP_TIMEOUT_S)
    seconds = time.perf_counter() - started
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"rp_card_flow.mjs printed no JSON (exit {proc.returncode})\n"
                    f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
    (card_stack.idp.data_dir / "rp_card_flow.json").write_text(json.dumps(result, indent=2))
    return CardFlow(result=result, stderr=proc.stderr, stack=card_stack, account=card_account,
                    client=created, card=inserted_card, seconds=seconds)


def test_card_flow_runs_to_the_end(card_flow: CardFlow):
    if card_flow.result.get("ok") is not True:
        pytest.fail(card_flow.summary())
    print(f"\nRP card flow (node, discovery to UserInfo, wrong PIN included): "
          f"{card_flow.result['total_ms']} ms; proof to callback "
          f"{card_flow.result['card_login']['proof']['ms_to_callback']} ms")


def test_eidas3_request_leads_to_the_card_page(card_flow: CardFlow):
    """acr_values=eidas3: the password form is skipped, the card page is shown."""
    assert card_flow.need("authorization_request")["acr_values"] == "eidas3"
    assert card_flow.need("card_page_reached_by") == "redirect"
    paths = [urlsplit(hop["url"]).path for hop in card_flow.need("trace")]
    assert paths[:3] == ["/authorize", "/login", "/carte-cps"], paths
    page = card_flow.need("card_page")
    assert "/carte-cps?ticket=" in page["url"], page
    assert page["title"] == "Connexion par carte CPS"
    assert page["agent_url"] == card_flow.stack.agent_url
    # Only this page may reach the agent, and the PIN field cannot reach the IdP.
    assert page["connect_src"] == ["'self'", card_flow.stack.agent_url], page["csp"]
    assert page["pin_field_name"] is None and page["pin_form_action"] is None
    assert page["proof_fields"] == ["csrf_token", "certificate", "signature", "challenge"]
    assert page["script"] == "/static/card_login.js"


def test_agent_sees_the_card_and_answers_the_idp_origin(card_flow: CardFlow):
    status = card_flow.need("agent_status")
    assert status["status"] == 200 and status["allow_origin"] == card_flow.stack.idp.issuer, status
    assert status["body"]["card_present"] is True
    assert status["body"]["reader"] == card_flow.stack.reader
    assert status["body"]["holder"] == "KIT DOC0042788"


def test_wrong_pin_is_refused_by_the_card_with_the_tries_left(card_flow: CardFlow):
    wrong = card_flow.need("wrong_pin")
    assert wrong["challenge"]["status"] == 200
    sign = wrong["sign"]
    assert sign["preflight"]["status"] == 204, sign
    assert sign["status"] == 403 and sign["allow_origin"] == card_flow.stack.idp.issuer, sign
    assert sign["body"] == {"error": "wrong_pin", "tries_left": 2, "message": (
        "Code PIN incorrect. Il vous reste 2 essais avant le blocage de votre carte.")}
    assert "proof" not in wrong, "nothing is posted to the IdP after a wrong PIN"


def test_card_signs_the_idp_challenge(card_flow: CardFlow):
    login = card_flow.need("card_login")
    assert login["challenge"]["bytes"] >= 32 and login["challenge"]["expires_in"] > 0
    sign = login["sign"]
    assert sign["preflight"]["allow_origin"] == card_flow.stack.idp.issuer
    assert "content-type" in sign["preflight"]["allow_headers"].lower()
    assert sign["status"] == 200 and sign["cache_control"] == "no-store", sign
    assert sign["certificate_is_pem"] and sign["signature_bytes"] == 256
    # The right PIN resets the card's counter after the wrong one.
    assert card_flow.card.tries_left == 3


def test_authorization_response(card_flow: CardFlow):
    params = card_flow.need("callback_params")
    assert params.get("code") and "error" not in params, params
    assert params["iss"] == card_flow.stack.idp.issuer
    assert params["state"] == card_flow.need("authorization_request")["state"]


def test_id_token_is_eidas3_from_the_card(card_flow: CardFlow):
    """openid-client validated signature, iss, aud, exp and nonce; the claims say card + PIN."""
    tokens = card_flow.need("tokens")
    claims = tokens["id_token_claims"]
    assert tokens["id_token_header"]["alg"] == "RS256"
    assert claims["iss"] == card_flow.stack.idp.issuer
    assert claims["aud"] in (card_flow.client["client_id"], [card_flow.client["client_id"]])
    assert claims["nonce"] == card_flow.need("authorization_request")["nonce"]
    assert claims["sub"] == card_flow.account["sub"]
    assert claims["acr"] == "eidas3"
    assert claims["amr"] == ["sc", "pin", "hwk", "mfa"]
    assert abs(claims["auth_time"] - time.time()) < 120


def test_userinfo_is_the_card_holder(card_flow: CardFlow):
    userinfo = card_flow.need("userinfo")
    assert userinfo["sub"] == card_flow.need("tokens")["id_token_claims"]["sub"]
    assert userinfo["sub"] == card_flow.account["sub"]
    assert userinfo.get("given_name") == "KIT" and userinfo.get("family_name") == "DOC0042788"
    assert userinfo.get("email") == card_flow.account["email"]
