"""The real PC/SC path: pcscd + vpcd + virtual CPS card ↔ pyscard in the card agent ↔ login page.

Needs the Debian packages pcscd and vsmartcard-vpcd (skipped without them, an
error in CI). The agent is the ``idp-card-agent`` console script in a
subprocess for the end-to-end test, an in-process server elsewhere.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from conftest import ISSUER, OIDC
from cps_support import (  # noqa: F401  (fixtures)
    PIN,
    VPCD_READER,
    CardBrowser,
    cps_app,
    free_port,
    page_text,
    pcsc,
    pki,
    smtp_server,
    wait_for_card,
)

from idp.card_agent.server import make_server
from idp.devtools.virtual_card import VpcdConnection, load_test_card

OTHER_ORIGIN = "https://evil.example"


@pytest.fixture
def agent(pcsc):
    """An in-process card agent for ISSUER on a free port; yields its URL."""
    server = make_server([ISSUER], port=0, reader_filter=VPCD_READER)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def insert(pcsc, pki):
    """Insert a virtual card of the test PKI; it is removed after the test."""
    inserted = []

    def put(name="kit", pin=PIN):
        card = load_test_card(Path(pki["trust_anchors"]).parent, name, pin)
        inserted.append(VpcdConnection(card).start())
        return card

    yield put
    for connection in inserted:
        connection.remove()
    time.sleep(0.3)  # let pcscd notice the removal before the next test inserts a card


def _sign(agent_url, challenge="A" * 43, pin=PIN, origin=ISSUER):
    return requests.post(agent_url + "/sign", json={"challenge": challenge, "pin": pin},
                         headers={"Origin": origin}, timeout=30)


def test_status_without_then_with_a_card(agent, insert):
    empty = wait_for_card(agent, ISSUER, present=False)
    assert empty["reader"] == VPCD_READER and empty["card_present"] is False
    insert("kit")
    status = wait_for_card(agent, ISSUER)
    assert status["card_present"] is True
    assert status["holder"] == "KIT DOC0042788"


def test_cors_and_private_network_for_the_configured_origin_only(agent):
    preflight = requests.options(agent + "/sign", headers={
        "Origin": ISSUER, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
        "Access-Control-Request-Private-Network": "true"}, timeout=10)
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ISSUER
    assert preflight.headers["Access-Control-Allow-Private-Network"] == "true"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]

    refused = requests.options(agent + "/sign", headers={
        "Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Private-Network": "true"}, timeout=10)
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert "Access-Control-Allow-Private-Network" not in refused.headers
    for origin in (OTHER_ORIGIN, None):
        answer = requests.get(agent + "/status", headers={"Origin": origin} if origin else {},
                              timeout=10)
        assert answer.status_code == 403 and "Access-Control-Allow-Origin" not in answer.headers
    rebinding = requests.get(agent + "/status", timeout=10,
                             headers={"Origin": ISSUER, "Host": "attacker.example"})
    assert rebinding.status_code == 403


def test_wrong_pin_counts_down_then_the_card_is_blocked(agent, insert):
    card = insert("kit")
    wait_for_card(agent, ISSUER)
    first = _sign(agent, pin="0000")
    assert first.status_code == 403
    assert first.json() == {"error": "wrong_pin", "tries_left": 2, "message": (
        "Code PIN incorrect. Il vous reste 2 essais avant le blocage de votre carte.")}
    assert _sign(agent, pin="0000").json()["message"].startswith(
        "Code PIN incorrect. Il vous reste 1 essai ")
    blocked = _sign(agent, pin="0000")
    assert blocked.status_code == 423 and blocked.json()["error"] == "card_blocked"
    assert "Votre carte CPS est bloquée" in blocked.json()["message"]
    # Blocked means blocked: even the right PIN is refused (69 83) and the card signs nothing.
    assert _sign(agent, pin=PIN).json()["error"] == "card_blocked"
    assert card.tries_left == 0


def test_no_card_and_no_reader(agent, pcsc):
    wait_for_card(agent, ISSUER, present=False)
    no_card = _sign(agent)
    assert no_card.status_code == 409
    assert no_card.json()["message"].startswith("Aucune carte n'est insérée dans le lecteur.")
    server = make_server([ISSUER], port=0, reader_filter="Lecteur absent")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answer = requests.get(f"http://127.0.0.1:{server.server_address[1]}/status",
                              headers={"Origin": ISSUER}, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status_code == 503
    assert answer.json()["message"].startswith("Aucun lecteur de carte n'est détecté.")


@pytest.mark.parametrize("body", [{"challenge": "A" * 43, "pin": "12"},
                                  {"challenge": "A" * 43, "pin": "12ab"},
                                  {"challenge": "short", "pin": PIN}, {"pin": PIN}])
def test_malformed_sign_requests(agent, body):
    answer = requests.post(agent + "/sign", json=body, headers={"Origin": ISSUER}, timeout=10)
    assert answer.status_code == 400 and answer.json()["message"]


def test_the_pin_is_not_logged(agent, insert, caplog):
    insert("kit", pin="918273")
    wait_for_card(agent, ISSUER)
    with caplog.at_level(logging.DEBUG):
        assert _sign(agent, pin="918273").status_code == 200
        assert _sign(agent, pin="918274").status_code == 403
    assert caplog.records and "918273" not in caplog.text and "918274" not in caplog.text


@pytest.fixture
def agent_process(pcsc):
    """The ``idp-card-agent`` console script, as a professional would run it."""
    port = free_port()
    script = Path(sys.executable).parent / "idp-card-agent"
    process = subprocess.Popen([str(script), "--port", str(port), "--origin", ISSUER,
                                "--reader", VPCD_READER], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            requests.options(url + "/status", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    yield url, process
    process.terminate()
    process.wait(timeout=10)


def _claims(id_token: str) -> dict:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_end_to_end_virtual_card_agent_page_idp_id_token(cps_app, agent_process, insert):
    agent_url, _process = agent_process
    oidc = OIDC(cps_app, cps_app.test_client())
    client_id, secret = oidc.register_client()
    sub = oidc.create_ps()
    insert("kit")
    assert wait_for_card(agent_url, ISSUER)["holder"] == "KIT DOC0042788"

    params, verifier = oidc.authorize_params(client_id)
    to_login = oidc.start(params)
    started = time.perf_counter()
    card_url = to_login.headers["Location"].replace("/login", "/carte-cps")
    browser = CardBrowser(oidc.client, card_url)
    # What card_login.js does: challenge from the IdP, signature from the agent, proof to the IdP.
    challenge = browser.challenge()
    signed = requests.post(agent_url + "/sign", json={"challenge": challenge, "pin": PIN},
                           headers={"Origin": ISSUER, "Content-Type": "application/json"},
                           timeout=30)
    assert signed.status_code == 200, signed.text
    assert signed.headers["Access-Control-Allow-Origin"] == ISSUER
    proof = signed.json()
    posted = browser.post_proof(proof["certificate"], proof["signature"], challenge)
    assert posted.status_code == 303, page_text(posted)
    callback = oidc.client.get(posted.headers["Location"])
    elapsed = time.perf_counter() - started
    assert callback.status_code == 302
    code = callback.headers["Location"].split("code=")[1].split("&")[0]
    tokens = oidc.exchange(client_id, secret, code, verifier).get_json()
    claims = _claims(tokens["id_token"])
    assert claims["sub"] == sub and claims["acr"] == "eidas3"
    assert claims["amr"] == ["sc", "pin", "hwk", "mfa"]
    assert elapsed < 10, f"card login took {elapsed:.2f} s"
    print(f"\ncard login, page to authorization code, through pcscd/vpcd: {elapsed * 1000:.0f} ms")
