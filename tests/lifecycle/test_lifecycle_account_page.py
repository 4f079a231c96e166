"""« Mon compte »: professional information from the referentials, e-mail and password
changes, last events, settings, and the login notification."""

from conftest import PASSWORD, csrf_of
from lifecycle_support import (  # noqa: F401  (fixtures)
    NEW_PASSWORD,
    browser,
    lc_app,
    link_in,
    login,
    mailbox,
    path_of,
    smtp_server,
    text_of,
)

from idp.extensions import db
from idp.models import Account

EMAIL = "kit.doc@example.fr"
NEW_EMAIL = "kit.nouveau@example.fr"


def logged_in(app, client, email=EMAIL):
    from conftest import OIDC

    OIDC(app, client).create_ps(email=email, am="751234565", rpps="99700427885")
    assert login(client, email, PASSWORD).status_code == 303
    return client


def post_account(client, path, data):
    token = csrf_of(client.get("/mon-compte").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def test_lifecycle_account_page_needs_a_login_and_comes_back_after_it(browser, lc_app):
    assert browser.get("/mon-compte").headers["Location"].endswith("/login")
    from conftest import OIDC

    OIDC(lc_app, browser).create_ps(email=EMAIL, am="751234565", rpps="99700427885")
    answer = login(browser, EMAIL, PASSWORD)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/mon-compte")
    # A login that the account page did not ask for ends on « Vous êtes connecté ».
    assert login(lc_app.test_client(), EMAIL, PASSWORD).headers["Location"].endswith("/connecte")


def test_lifecycle_account_page_shows_the_three_sections_from_the_referentials(browser, lc_app,
                                                                              mailbox):
    logged_in(lc_app, browser)
    page = text_of(browser.get("/mon-compte"))
    for section in ("Informations professionnelles", "Connexion et sécurité",
                    "Paramètres de compte"):
        assert section in page
    assert "Docteur DOC0042788 KIT" in page and "Médecine générale (SM)" in page
    # Both activities: the libéral practice with its numéro AM, the centre with its FINESS.
    assert "Cabinet | CABINET M DOC0042788" in page and "N° Assurance Maladie 751234565" in page
    assert "CENTRE DE SANTE DEMO PARIS 9" in page and "N° FINESS 750712184" in page
    assert "12 Rue LAFAYETTE" in page and "CPAM Paris (75)" in page
    assert "Si vous constatez une erreur sur vos informations, vous pouvez la signaler à votre " \
           "CPAM" in page
    assert EMAIL in page and "Connexion par identifiant et mot de passe" in page


def test_lifecycle_login_notification_is_sent_and_can_be_switched_off(browser, lc_app, mailbox):
    logged_in(lc_app, browser)
    [notice] = mailbox.to(EMAIL)
    assert "nouvelle connexion" in notice["Subject"]
    assert "connexion par identifiant et mot de passe" in notice.get_body("plain").get_content()
    response = post_account(browser, "/mon-compte/parametres", {})
    assert response.status_code == 303
    assert "paramètres de compte sont enregistrés" in text_of(browser.get("/mon-compte"))
    assert login(lc_app.test_client(), EMAIL, PASSWORD).status_code == 303
    assert len(mailbox.to(EMAIL)) == 1
    with lc_app.app_context():
        assert db.session.scalar(db.select(Account)).login_notifications is False


def test_lifecycle_login_notifications_switch_for_the_whole_service(make_app, smtp_server,
                                                                   mailbox):
    app = make_app(IDP_SMTP_URL=smtp_server.url, IDP_LOGIN_NOTIFICATIONS="false")
    logged_in(app, app.test_client())
    assert mailbox.received() == []


def test_lifecycle_email_change_is_validated_by_the_new_address(browser, lc_app, mailbox):
    logged_in(lc_app, browser)
    cases = [({"new_email": "x", "new_email_confirm": "x"}, "n'est pas valide"),
             ({"new_email": NEW_EMAIL, "new_email_confirm": "autre@example.fr"}, "différentes"),
             ({"new_email": EMAIL, "new_email_confirm": EMAIL}, "déjà l'adresse"),
             ({"new_email": NEW_EMAIL, "new_email_confirm": NEW_EMAIL,
               "current_password": "Faux#pass-123"}, "mot de passe actuel saisi est incorrect")]
    for data, message in cases:
        response = post_account(browser, "/mon-compte/email", data)
        assert response.status_code == 400 and message in text_of(response), data
    assert f'value="{NEW_EMAIL}"' in post_account(browser, "/mon-compte/email", cases[1][0]) \
        .get_data(as_text=True)
    response = post_account(browser, "/mon-compte/email", {
        "new_email": NEW_EMAIL, "new_email_confirm": NEW_EMAIL, "current_password": PASSWORD})
    assert response.status_code == 303
    assert f"Un e-mail de validation a été envoyé à {NEW_EMAIL}" in text_of(
        browser.get("/mon-compte"))
    [validation] = mailbox.to(NEW_EMAIL)
    old_notice = [m for m in mailbox.to(EMAIL) if "modification" in m["Subject"]]
    assert len(old_notice) == 1 and NEW_EMAIL not in old_notice[0].as_string()
    with lc_app.app_context():
        assert db.session.scalar(db.select(Account)).email == EMAIL  # not before validation
    link = link_in(validation)
    assert link.startswith("https://idp.test/mon-compte/email/valider/")
    assert "Adresse e-mail modifiée" in text_of(browser.get(path_of(link)))
    assert browser.get(path_of(link)).status_code == 400
    page = text_of(browser.get("/mon-compte"))
    assert NEW_EMAIL in page and "Modification e-mail" in page
    assert login(lc_app.test_client(), NEW_EMAIL, PASSWORD).status_code == 303


def test_lifecycle_password_change_needs_the_current_one_and_closes_other_sessions(
        browser, lc_app, mailbox):
    logged_in(lc_app, browser)
    other = lc_app.test_client()
    assert login(other, EMAIL, PASSWORD).status_code == 303
    wrong = post_account(browser, "/mon-compte/mot-de-passe", {
        "current_password": "Faux#pass-123", "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD})
    assert wrong.status_code == 400 and "mot de passe actuel saisi est incorrect" in text_of(wrong)
    weak = post_account(browser, "/mon-compte/mot-de-passe", {
        "current_password": PASSWORD, "password": "kitdoc0042788", "password_confirm": ""})
    assert weak.status_code == 400 and "majuscules" in text_of(weak)
    done = post_account(browser, "/mon-compte/mot-de-passe", {
        "current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 303
    page = text_of(browser.get("/mon-compte"))  # this browser stays logged in
    assert "Votre mot de passe a été modifié" in page and "Modification du mot de passe" in page
    assert other.get("/mon-compte").headers["Location"].endswith("/login")
    assert login(lc_app.test_client(), EMAIL, NEW_PASSWORD).status_code == 303
    assert any("modifié" in m["Subject"] for m in mailbox.to(EMAIL))


def test_lifecycle_last_events_are_newest_first_in_the_seed_wording(browser, lc_app, mailbox):
    logged_in(lc_app, browser)
    login(lc_app.test_client(), EMAIL, "Faux#pass-123")
    post_account(browser, "/mon-compte/mot-de-passe", {
        "current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    html = browser.get("/mon-compte").get_data(as_text=True)
    events = html[html.index('id="events"'):]
    order = [events.index(label) for label in (
        "Modification du mot de passe", "Échec de connexion par identifiant et mot de passe",
        "Connexion par identifiant et mot de passe")]
    assert order == sorted(order)
