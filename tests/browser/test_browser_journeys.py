"""User journeys in Chromium, from the demo portal (relying party) through the IdP and back.

Everything is real: the demo RP (Authlib client) on ``localhost``, the IdP on
``127.0.0.1`` with password and card login, the card agent over pcscd and vpcd with
virtual cards of the test PKI, the SMTP server receiving the reset e-mail. Each journey
ends on the portal with the services of the account, and leaves a screenshot in
``tests/browser/screenshots/`` (kept by CI, not committed).

Needs Playwright (Python), Chromium (Debian package), pcscd and vsmartcard-vpcd:
skipped without them, an error under ``CI=true``.
"""

from __future__ import annotations

import re

import pytest
from browser_support import (  # noqa: F401  (fixtures)
    CARD_BUTTON,
    PageWatch,
    browser,
    card_in_reader,
    cps_support,
    page,
    screenshot,
)
from demo_site import live_demo

from idp import demo

PIN = cps_support.PIN
DIRECTOR, DOCTOR, NURSE = (spec["identifier"] for spec in demo.DEMO_ACCOUNTS)
NEW_PASSWORD = "Nv7#reset-Journey-2026"
CENTRE_SERVICES = ["Paiements", "Commandes d'imprimés", "Contact COVID"]

# Session fixtures of tests/cps/cps_support.py: a test PKI, pcscd with the vpcd reader,
# a real SMTP server.
pki = cps_support.pki
pcsc = cps_support.pcsc
smtp_server = cps_support.smtp_server
mailbox = cps_support.mailbox


@pytest.fixture
def site(make_app, pki, pcsc, smtp_server):
    """The IdP, the card agent and the demo portal, with the demo accounts."""
    with live_demo(make_app, pki, reader=pcsc, smtp_url=smtp_server.url) as live:
        yield live


def _to_idp_login(page, site) -> None:
    """From the portal's welcome page to the IdP's login page."""
    page.goto(site.rp_url + "/")
    page.get_by_role("button", name="SE CONNECTER").click()
    page.wait_for_url(re.compile(re.escape(site.idp.issuer) + r"/login\?ticket=.*"))


def _type_password(page, identifier: str, password: str) -> None:
    page.get_by_label("E-mail, N° Assurance Maladie ou N° FINESS").fill(identifier)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="VOUS CONNECTER").click()


def _password_login(page, site, identifier: str, password: str = demo.DEMO_PASSWORD) -> None:
    """Log in from the portal with a password; back on the portal home."""
    _to_idp_login(page, site)
    _type_password(page, identifier, password)
    _wait_for_portal(page, site)


def _wait_for_portal(page, site, path: str = "/") -> None:
    page.wait_for_url(site.rp_url + path)


def _card_login(page, site) -> None:
    """On the IdP's card page with a card in the reader: type the PIN and validate."""
    page.wait_for_url(re.compile(r".*/carte-cps\?ticket=.*"))
    page.locator("#card-status", has_text="Carte CPS détectée").wait_for()
    page.locator("#pin").fill(PIN)
    page.get_by_role("button", name="VALIDER").click()


def _service_names(page) -> list[str]:
    return [name.strip() for name in page.locator(".tile strong").all_inner_texts()]


def _identity(page) -> str:
    return page.locator(".identity").inner_text()


def test_director_logs_in_with_a_password_and_sees_the_centre_services(page, site):
    watch = PageWatch().attach(page)
    _password_login(page, site, DIRECTOR)
    screenshot(page, "journey-director-home")
    assert "CENTRE DE SANTE DEMO PARIS 9" in _identity(page)
    assert "FINESS 750712184" in _identity(page)
    assert _service_names(page) == CENTRE_SERVICES
    page.get_by_role("link", name=re.compile("Paiements")).click()
    _wait_for_portal(page, site, "/service/paiements")
    screenshot(page, "journey-director-paiements")
    reasons = page.locator("dl.claims").inner_text()
    assert "représenté par son directeur" in reasons and "Mot de passe (eidas1)" in reasons
    assert watch.problems() == [], watch.problems()


def test_doctor_logs_in_with_a_password_then_aat_asks_for_the_card(page, site, pki):
    _password_login(page, site, DOCTOR)
    assert "KIT DOC0042788" in _identity(page)
    assert _service_names(page) == ["Avis d'arrêt de travail (AAT)",
                                    "Déclaration médecin traitant (DMT)",
                                    "Protocole de soins électronique (PSE)"]
    # Acting for the centre that employs the doctor adds Contact COVID.
    activities = page.locator("#activity option").all_inner_texts()
    assert any("Libéral" in a for a in activities), activities
    salaried = next(a for a in activities if "CENTRE DE SANTE DEMO PARIS 9" in a)
    page.locator("#activity").select_option(label=salaried.strip())
    page.get_by_role("button", name="CHANGER").click()
    _wait_for_portal(page, site)
    assert "Contact COVID" in _service_names(page)
    screenshot(page, "journey-doctor-home")

    with card_in_reader(pki, site.idp.agent_url, site.idp.issuer):
        page.get_by_role("link", name=re.compile("AAT")).click()
        # acr_values=eidas3: straight to the card page, the password is not enough.
        _card_login(page, site)
        _wait_for_portal(page, site, "/service/aat")
    screenshot(page, "journey-doctor-aat")
    reasons = page.locator("dl.claims").inner_text()
    assert "Carte CPS (eidas3)" in reasons and "ce service exige la carte CPS" in reasons
    assert "CENTRE DE SANTE DEMO PARIS 9" in reasons  # still acting for the chosen activity


def test_nurse_logs_in_with_her_card_and_sees_bsi(page, site, pki):
    _to_idp_login(page, site)
    with card_in_reader(pki, site.idp.agent_url, site.idp.issuer, name="anne"):
        page.get_by_role("link", name=CARD_BUTTON).click()
        _card_login(page, site)
        _wait_for_portal(page, site)
    screenshot(page, "journey-nurse-home")
    assert "ANNE INF0010011" in _identity(page)
    assert _service_names(page) == ["Bilan de soins infirmiers (BSI)"]
    assert "CENTRE DE SANTE DEMO PARIS 9" in page.locator("#activity").inner_text()


def test_three_wrong_passwords_lock_the_account_and_the_card_unlocks_it(page, site, pki):
    _to_idp_login(page, site)
    for attempt in range(3):
        _type_password(page, DOCTOR, f"Wrong-password-{attempt}!")
        page.wait_for_url(re.compile(r".*/login\?ticket=.*"))
    banner = page.get_by_role("alert").filter(has_text="Votre compte est bloqué")
    assert re.fullmatch(r"Votre compte est bloqué\. Veuillez réessayer dans \d+ min ou "
                        r"connectez-vous avec votre carte CPS\.", banner.inner_text().strip())
    screenshot(page, "journey-locked")
    # The right password is not even evaluated while the account is locked.
    _type_password(page, DOCTOR, demo.DEMO_PASSWORD)
    page.get_by_role("alert").filter(has_text="Votre compte est bloqué").wait_for()

    with card_in_reader(pki, site.idp.agent_url, site.idp.issuer):
        page.get_by_role("link", name=CARD_BUTTON).click()
        _card_login(page, site)
        page.get_by_role("heading", name="Compte débloqué").wait_for()
        screenshot(page, "journey-unlocked")
        page.get_by_role("link", name="CONTINUER").click()
        _wait_for_portal(page, site)
    assert _service_names(page)[0] == "Avis d'arrêt de travail (AAT)"

    # Unlocked: after logging out, the password works again.
    page.get_by_role("button", name="SE DÉCONNECTER").click()
    _wait_for_portal(page, site)
    _password_login(page, site, DOCTOR)
    assert "KIT DOC0042788" in _identity(page)


def test_forgotten_password_through_the_e_mail_link(page, site, mailbox):
    _to_idp_login(page, site)
    page.get_by_role("link", name="Mot de passe oublié").click()
    page.get_by_label("Adresse e-mail associée à votre compte").fill(DOCTOR)
    page.get_by_role("button", name="CONTINUER").click()
    page.get_by_text(f"Si l'adresse {DOCTOR} correspond à un compte amelipro").wait_for()
    link = mailbox.last_link()
    assert link.startswith(site.idp.issuer + "/mot-de-passe-oublie/")

    page.goto(link)
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmer nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="VALIDER").click()
    page.get_by_text("Votre nouveau mot de passe est pris en compte.").wait_for()
    screenshot(page, "journey-reset-done")
    # « ME CONNECTER » resumes the portal's login request that was left for the reset.
    page.get_by_role("link", name="ME CONNECTER").click()
    page.wait_for_url(re.compile(r".*/login\?ticket=.*"))
    _type_password(page, DOCTOR, demo.DEMO_PASSWORD)
    page.get_by_text("Identifiant ou mot de passe incorrect").first.wait_for()
    _type_password(page, DOCTOR, NEW_PASSWORD)
    _wait_for_portal(page, site)
    screenshot(page, "journey-reset-home")
    assert "KIT DOC0042788" in _identity(page)


def test_logout_ends_the_portal_and_the_idp_sessions(page, site):
    _password_login(page, site, DIRECTOR)
    page.get_by_role("button", name="SE DÉCONNECTER").click()
    _wait_for_portal(page, site)
    screenshot(page, "journey-logged-out")
    assert page.get_by_role("button", name="SE CONNECTER").is_visible()
    # The IdP session is gone too: logging in again asks for the password.
    _to_idp_login(page, site)
    assert page.get_by_label("Mot de passe", exact=True).is_visible()
    service = page.request.get(f"{site.rp_url}/service/paiements", max_redirects=0)
    assert service.status == 303 and service.headers["location"].endswith("/")
