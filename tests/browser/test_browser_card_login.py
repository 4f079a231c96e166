"""The card login page's JavaScript in a real browser (Chromium driven by Playwright).

pcscd + vpcd + the virtual ``kit`` card, the real card agent (``idp.card_agent.server``,
allowing the IdP's origin only), and the IdP served by werkzeug on a loopback port with
``IDP_AUTHENTICATORS=password,cps`` and a test PKI. Chromium opens the authorization
URL, clicks « VOUS CONNECTER PAR CARTE CPS », types the PIN and submits: the page's
script (``idp/static/card_login.js``, under the page's CSP) fetches the challenge, has
the agent sign it and posts the proof. The relying party's redirect URI is intercepted
in the browser (nothing serves it). Screenshots go to ``tests/browser/screenshots/``.

Needs Playwright (Python), Chromium (Debian package), pcscd and vsmartcard-vpcd:
skipped without them, an error under ``CI=true``.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_support import (  # noqa: F401  (fixtures)
    CARD_BUTTON,
    PageWatch,
    authorization_url,
    browser,
    card_in_reader,
    cps_support,
    exchange_code,
    id_token_claims,
    live_card_idp,
    page,
    relying_party_callback,
    screenshot,
)

PIN = cps_support.PIN
WRONG_PIN = "0000"

# Session fixtures of tests/cps/cps_support.py: a test PKI, pcscd with the vpcd reader.
pki = cps_support.pki
pcsc = cps_support.pcsc
@pytest.fixture
def redirect_uri():
    """The relying party's redirect URI, served on the loopback interface."""
    with relying_party_callback() as url:
        yield url


@pytest.fixture
def idp(make_app, pki, pcsc):
    """The live IdP and the card agent on the vpcd reader."""
    with live_card_idp(make_app, pki, reader=pcsc) as live:
        yield live


def _card_page(page, idp, client_id, redirect_uri, **extra):
    """From the authorization URL to the card page through the login page's card button."""
    url, params, verifier = authorization_url(idp, client_id, redirect_uri, **extra)
    page.goto(url)
    assert "/login?ticket=" in page.url, page.url
    page.get_by_role("link", name=CARD_BUTTON).click()
    page.wait_for_url(re.compile(r".*/carte-cps\?ticket=.*"))
    # showStatus(): the page asked the agent (cross-origin, allowed by connect-src).
    # (Polled from Python: the page's CSP forbids Playwright's string evaluation.)
    page.locator("#card-status", has_text="Carte CPS détectée").wait_for()
    return params, verifier


def _logged_in(page, idp) -> bool:
    """Does this browser have an IdP session? (/connecte redirects to /login without one.)"""
    answer = page.request.get(f"{idp.issuer}/connecte", max_redirects=0)
    return answer.status == 200


def _back_at(redirect_uri):
    return re.compile(re.escape(redirect_uri) + r"\?.*")


def test_card_login_in_chromium_gives_an_eidas3_id_token(page, idp, pki, redirect_uri):
    client_id, secret = idp.oidc.register_client(redirect_uris=[redirect_uri])
    sub = idp.oidc.create_ps()
    watch = PageWatch().attach(page)
    with card_in_reader(pki, idp.agent_url, idp.issuer):
        params, verifier = _card_page(page, idp, client_id, redirect_uri)
        screenshot(page, "card-page")
        assert page.locator("#card-status").inner_text() == "Carte CPS détectée : KIT DOC0042788."
        # The agent answered: neither its installation help nor an (empty) message box shows.
        assert page.locator("#agent-missing").is_hidden(), "« composant ne répond pas » shown"
        assert page.locator("#card-message").is_hidden(), "an empty message box is shown"

        page.locator("#pin").fill(PIN)
        with page.expect_navigation(url=_back_at(redirect_uri)):
            page.get_by_role("button", name="VALIDER").click()

    query = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert query["state"] == params["state"] and query["iss"] == idp.issuer
    tokens = exchange_code(idp, client_id, secret, query["code"], verifier, redirect_uri)
    claims = id_token_claims(tokens["id_token"])
    assert claims["acr"] == "eidas3"
    assert claims["amr"] == ["sc", "pin", "hwk", "mfa"]
    assert claims["sub"] == sub and claims["nonce"] == params["nonce"]

    # What the script sent: the PIN to the agent only, with the page's origin.
    signs = watch.to(f"{idp.agent_url}/sign", "POST")
    assert len(signs) == 1
    sent = watch.headers(signs[0])
    assert sent.get("origin") == idp.issuer and "cookie" not in sent
    assert sent.get("content-type") == "application/json"
    assert f'"pin":"{PIN}"' in signs[0]["post_data"]
    to_idp = [r for r in watch.requests if r["url"].startswith(idp.issuer) and r["post_data"]]
    assert [urlsplit(r["url"]).path for r in to_idp] == ["/carte-cps/defi", "/carte-cps"]
    posted = [parse_qs(r["post_data"]) for r in to_idp]
    assert all("pin" not in form and [PIN] not in form.values() for form in posted), posted
    assert watch.problems() == [], watch.problems()


def test_wrong_pin_shows_the_tries_left_and_logs_nobody_in(page, idp, pki, redirect_uri):
    client_id, _secret = idp.oidc.register_client(redirect_uris=[redirect_uri])
    idp.oidc.create_ps()
    watch = PageWatch().attach(page)
    with card_in_reader(pki, idp.agent_url, idp.issuer) as card:
        _card_page(page, idp, client_id, redirect_uri)
        card_url = page.url
        page.locator("#pin").fill(WRONG_PIN)
        page.get_by_role("button", name="VALIDER").click()
        page.locator("#card-message-text", has_text="Code PIN incorrect").wait_for()
        screenshot(page, "card-wrong-pin")
        assert page.locator("#card-message").is_visible()
        assert page.locator("#card-message-text").inner_text() == (
            "Code PIN incorrect. Il vous reste 2 essais avant le blocage de votre carte.")
        assert page.locator("#agent-missing").is_hidden(), "« composant ne répond pas » shown"
        assert page.url == card_url
        assert page.locator("#pin").input_value() == ""  # the page forgets the PIN
        assert page.locator("#pin-submit").is_enabled()
        assert card.tries_left == 2
        assert not _logged_in(page, idp)
        assert watch.to(f"{idp.issuer}/carte-cps?", "POST") == [], "no proof posted"

        # The right PIN then works from the same page (and resets the card's counter).
        page.locator("#pin").fill(PIN)
        with page.expect_navigation(url=_back_at(redirect_uri)):
            page.get_by_role("button", name="VALIDER").click()
        assert card.tries_left == 3
    assert "code=" in page.url
    # Chromium logs the agent's 403 answer (wrong PIN) as a failed resource; nothing else.
    assert watch.problems(expected=("status of 403",)) == [], watch.problems()


def test_malformed_pin_is_refused_by_the_page_itself(page, idp, pki, redirect_uri):
    client_id, _secret = idp.oidc.register_client(redirect_uris=[redirect_uri])
    watch = PageWatch().attach(page)
    with card_in_reader(pki, idp.agent_url, idp.issuer) as card:
        _card_page(page, idp, client_id, redirect_uri)
        page.locator("#pin").fill("12")
        page.get_by_role("button", name="VALIDER").click()
        page.locator("#card-message-text", has_text="4 à 8 chiffres").wait_for()
        assert page.locator("#card-message").is_visible()
        assert page.locator("#card-message-text").inner_text() == (
            "Le code PIN de votre carte comporte 4 à 8 chiffres.")
        assert watch.to(f"{idp.agent_url}/sign") == [] and card.tries_left == 3


def test_missing_agent_explains_how_to_install_it(page, make_app, pki, redirect_uri):
    with live_card_idp(make_app, pki, agent=False) as idp:
        client_id, _secret = idp.oidc.register_client(redirect_uris=[redirect_uri])
        url, _params, _verifier = authorization_url(idp, client_id, redirect_uri,
                                                    acr_values="eidas3")
        page.goto(url)
        # acr_values=eidas3: a password cannot do, the login page sends the browser to the card.
        assert "/carte-cps?ticket=" in page.url, page.url
        page.locator("#pin-form").wait_for(state="hidden")  # agentMissing() ran
        screenshot(page, "card-agent-missing")
        missing = page.locator("#agent-missing")
        assert missing.is_visible()
        text = html.unescape(missing.inner_text())
        assert "Le composant de lecture de carte CPS ne répond pas sur ce poste." in text
        assert "idp-card-agent" in text
        assert page.locator("#card-status").inner_text() == ""
        assert page.locator("#card-message").is_hidden(), "an empty message box is shown"
