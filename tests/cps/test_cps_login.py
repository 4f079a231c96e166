"""Card login through the pages (Flask test client), the card's key standing in for the card.

The PC/SC path (pcscd + vpcd + virtual card + agent) is in test_cps_card_agent.py;
here the browser part and the server-side checks are exercised in depth.
"""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from conftest import OIDC, PASSWORD, csrf_of
from cps_support import (  # noqa: F401  (fixtures)
    CardBrowser,
    b64url,
    b64url_decode,
    card_files,
    cps_app,
    mailbox,
    page_text,
    pki,
    sign,
    smtp_server,
)

from idp.accounts.audit import EVENT_LABELS
from idp.extensions import db
from idp.models import Account, AuditEvent

KIT_EMAIL = "kit.doc@example.fr"
ANNE_EMAIL = "anne.inf@example.fr"


@pytest.fixture
def oidc(cps_app):
    """The RP-and-browser helper on the card-enabled app."""
    return OIDC(cps_app, cps_app.test_client())


def _claims(id_token: str) -> dict:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _card_page_of(oidc, client_id) -> tuple[CardBrowser, str]:
    params, verifier = oidc.authorize_params(client_id)
    response = oidc.start(params)
    assert response.status_code == 303
    login_page = oidc.client.get(response.headers["Location"])
    html = login_page.get_data(as_text=True)
    assert "VOUS CONNECTER PAR CARTE CPS" in html
    card_url = html.split('class="button" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "ticket=" in card_url
    return CardBrowser(oidc.client, card_url), verifier


def test_card_login_sends_the_login_notification(oidc, pki, mailbox):
    from idp.accounts import notifications

    client_id, _secret = oidc.register_client()
    oidc.create_ps(email=KIT_EMAIL)
    browser, _verifier = _card_page_of(oidc, client_id)
    assert browser.login_with_key(pki, "kit").status_code == 303
    notifications.wait_sent()
    [notice] = [m for m in mailbox.messages if m["To"] == KIT_EMAIL]
    assert "nouvelle connexion" in notice["Subject"]
    text = next(part for part in notice.walk() if part.get_content_type() == "text/plain")
    assert "(connexion par carte cps)" in text.get_payload(decode=True).decode()


def _logged_in(client) -> bool:
    return client.get("/connecte").status_code == 200


def test_card_login_gives_an_eidas3_id_token(oidc, pki):
    client_id, secret = oidc.register_client()
    sub = oidc.create_ps(email=KIT_EMAIL)
    browser, verifier = _card_page_of(oidc, client_id)
    posted = browser.login_with_key(pki, "kit")
    assert posted.status_code == 303, page_text(posted)
    callback = oidc.client.get(posted.headers["Location"])
    assert callback.status_code == 302
    code = callback.headers["Location"].split("code=")[1].split("&")[0]
    tokens = oidc.exchange(client_id, secret, code, verifier).get_json()
    claims = _claims(tokens["id_token"])
    assert claims["sub"] == sub
    assert claims["acr"] == "eidas3"
    assert claims["amr"] == ["sc", "pin", "hwk", "mfa"]
    with oidc.app.app_context():
        account = db.session.scalar(db.select(Account).where(Account.sub == sub))
        events = [e.event for e in db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.account_id == account.id))]
    assert "card_login" in events and "account_unlocked" not in events
    assert EVENT_LABELS["card_login"] == "Connexion par carte CPS"


def test_card_page_alone_allows_the_agent_in_its_csp(oidc, cps_app):
    browser = CardBrowser(oidc.client, "/carte-cps")
    csp = browser.page.headers["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1:24680" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "connect-src" not in oidc.client.get("/login").headers["Content-Security-Policy"]
    assert 'src="/static/card_login.js"' in browser.page.get_data(as_text=True)


def test_the_pin_field_is_never_posted_to_the_idp(oidc):
    html = CardBrowser(oidc.client, "/carte-cps").page.get_data(as_text=True)
    pin_input = html.split('id="pin"')[0].rsplit("<input", 1)[1] + html.split('id="pin"')[1].split(">")[0]
    assert "name=" not in pin_input
    assert 'id="pin-form" class="form" novalidate>' in html  # no action, no method


def test_replayed_challenge_is_refused(oidc, pki):
    oidc.create_ps(email=KIT_EMAIL)
    browser = CardBrowser(oidc.client, "/carte-cps")
    _, key, pem = card_files(pki, "kit")
    challenge = browser.challenge()
    signature = b64url(sign(key, b64url_decode(challenge)))
    assert browser.post_proof(pem, signature, challenge).status_code == 303
    oidc.client.get("/logout")  # start again from a logged-out browser with the same proof
    replay = oidc.app.test_client()
    replay_browser = CardBrowser(replay, "/carte-cps")
    again = replay_browser.post_proof(pem, signature, challenge)
    assert again.status_code == 400
    assert "a expiré ou a déjà été utilisée" in page_text(again)
    assert not _logged_in(replay)


def test_challenge_of_another_session_is_refused(oidc, pki):
    oidc.create_ps(email=KIT_EMAIL)
    _, key, pem = card_files(pki, "kit")
    other = CardBrowser(oidc.app.test_client(), "/carte-cps")
    stolen = other.challenge()
    browser = CardBrowser(oidc.client, "/carte-cps")
    answer = browser.post_proof(pem, b64url(sign(key, b64url_decode(stolen))), stolen)
    assert answer.status_code == 400
    assert "a expiré ou a déjà été utilisée" in page_text(answer)
    # ...and it was consumed: not even its own session can use it now.
    assert other.post_proof(pem, b64url(sign(key, b64url_decode(stolen))), stolen).status_code == 400


def test_challenges_are_random_and_long_enough(oidc):
    browser = CardBrowser(oidc.client, "/carte-cps")
    seen = {browser.challenge() for _ in range(5)}
    assert len(seen) == 5
    assert all(len(b64url_decode(c)) >= 32 for c in seen)


def test_challenge_endpoint_needs_the_csrf_token(oidc):
    CardBrowser(oidc.client, "/carte-cps")
    assert oidc.client.post("/carte-cps/defi", data={"csrf_token": "x"}).status_code == 400


def test_signature_over_another_challenge(oidc, pki):
    oidc.create_ps(email=KIT_EMAIL)
    browser = CardBrowser(oidc.client, "/carte-cps")
    _, key, pem = card_files(pki, "kit")
    challenge = browser.challenge()
    answer = browser.post_proof(pem, b64url(sign(key, secrets.token_bytes(32))), challenge)
    assert answer.status_code == 400
    assert "La signature de votre carte ne correspond pas" in page_text(answer)
    assert not _logged_in(oidc.client)


@pytest.mark.parametrize(("card", "message"), [
    ("expired", "Votre carte CPS a expiré"),
    ("revoked", "Votre carte CPS a été révoquée"),
    ("foreign", "n'a pas été émise par une autorité de certification reconnue"),
    ("no-digital-signature", "ne permet pas l'authentification"),
])
def test_bad_cards_get_a_french_message_and_no_login(oidc, pki, card, message):
    oidc.create_ps(email=KIT_EMAIL)
    browser = CardBrowser(oidc.client, "/carte-cps")
    answer = browser.login_with_key(pki, card)
    assert answer.status_code == 400
    assert message in page_text(answer)
    assert 'role="alert" id="card-error"' in answer.get_data(as_text=True)
    assert not _logged_in(oidc.client)


@pytest.mark.parametrize(("certificate", "signature"), [
    ("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----", "AAAA"),
    ("AAAA", "AAAA"), ("PEM", "%%% not base64 %%%")])
def test_malformed_pem_or_base64(oidc, certificate, signature):
    browser = CardBrowser(oidc.client, "/carte-cps")
    answer = browser.post_proof(certificate, signature, browser.challenge())
    assert answer.status_code == 400
    assert "illisibles" in page_text(answer)
    assert not _logged_in(oidc.client)


def test_legacy_layout_card_logs_in(oidc, pki):
    oidc.create_ps(email=KIT_EMAIL)
    browser = CardBrowser(oidc.client, "/carte-cps")
    assert browser.login_with_key(pki, "legacy").status_code == 303
    assert _logged_in(oidc.client)


def _lock(oidc, identifier):
    for _ in range(3):
        page = oidc.client.get("/login")
        answer = oidc.client.post("/login", data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                                                  "identifier": identifier,
                                                  "password": "Wrong-password-1!"})
    assert "Votre compte est bloqué" in page_text(answer)


def _password_login(oidc, identifier):
    client = oidc.app.test_client()
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                                       "identifier": identifier, "password": PASSWORD})


def test_card_login_unlocks_that_account_only(oidc, pki):
    oidc.create_ps(email=KIT_EMAIL)
    oidc.create_ps(email=ANNE_EMAIL, am="223456789", rpps="10001001170", given_name="ANNE",
                   family_name="INF0010011", profession_code="60")
    _lock(oidc, KIT_EMAIL)
    _lock(oidc, ANNE_EMAIL)
    assert "Votre compte est bloqué" in page_text(_password_login(oidc, KIT_EMAIL))

    browser = CardBrowser(oidc.client, "/carte-cps")
    answer = browser.login_with_key(pki, "kit")
    assert answer.status_code == 200
    text = page_text(answer)
    assert "Compte débloqué" in text and "votre connexion par carte CPS l'a débloqué" in text
    assert _logged_in(oidc.client)

    assert _password_login(oidc, KIT_EMAIL).status_code == 303  # unlocked
    still = _password_login(oidc, ANNE_EMAIL)
    assert "Votre compte est bloqué" in page_text(still)  # the other account stays locked
    with oidc.app.app_context():
        kit = db.session.scalar(db.select(Account).where(Account.email == KIT_EMAIL))
        events = [e.event for e in db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.account_id == kit.id))]
    assert "account_unlocked" in events
    assert EVENT_LABELS["account_unlocked"] == "Déblocage du compte"


def test_card_login_re_enables_a_disabled_password(oidc, pki):
    oidc.create_ps(email=KIT_EMAIL)
    with oidc.app.app_context():
        kit = db.session.scalar(db.select(Account).where(Account.email == KIT_EMAIL))
        kit.password_disabled = True
        kit.consecutive_failures = 100
        db.session.commit()
    assert CardBrowser(oidc.client, "/carte-cps").login_with_key(pki, "kit").status_code == 200
    with oidc.app.app_context():
        kit = db.session.scalar(db.select(Account).where(Account.email == KIT_EMAIL))
        assert not kit.password_disabled and kit.consecutive_failures == 0


def test_login_page_without_cps_has_no_card_button(client):
    assert "VOUS CONNECTER PAR CARTE CPS" not in client.get("/login").get_data(as_text=True)
