"""Centre account creation by FINESS, the posted letter, the provisional password."""

import time

from conftest import csrf_of
from lifecycle_support import (  # noqa: F401  (fixtures)
    NEW_PASSWORD,
    browser,
    lc_app,
    letter_text,
    letters,
    link_in,
    login,
    mailbox,
    path_of,
    post_form,
    provisional_password_of,
    smtp_server,
    text_of,
)

from idp.extensions import db
from idp.models import Account, AuditEvent

EMAIL = "direction@cds-demo.fr"
STEP1 = "/creer-un-compte/centre"
STEP2 = "/creer-un-compte/etablissement"


def finess_step(browser, value):
    return post_form(browser, STEP1, {"finess": value})


def create_centre(browser, finess="750712184", email=EMAIL):
    assert finess_step(browser, finess).status_code == 303
    return post_form(browser, STEP2, {"email": email, "email_confirm": email,
                                      "terms": "accepted"})


def test_lifecycle_signup_entry_points_lead_to_the_finess_form(browser):
    assert browser.get("/creer-un-compte").headers["Location"].endswith(STEP1)
    page = browser.get(STEP1)
    assert "N° FINESS géographique" in text_of(page)
    assert browser.get(STEP2).headers["Location"].endswith(STEP1)  # step 2 needs step 1


def test_lifecycle_signup_refuses_bad_finess_with_clear_messages(browser):
    cases = {"": "Saisissez le N° FINESS",
             "75071218": "comporte 9 caractères",
             "75071218X": "comporte 9 caractères",
             "750712185": "clé de contrôle",
             "350045688": "ne figure pas dans le référentiel",
             "750034563": "n'est pas un centre de santé (Pharmacie d'Officine)",
             "9" * 300: "comporte 9 caractères"}
    for typed, message in cases.items():
        response = finess_step(browser, typed)
        assert response.status_code == 400, typed
        page = text_of(response)
        assert message in page, (typed, page)
        assert 'aria-invalid="true"' in response.get_data(as_text=True)
    # What was typed is kept (trimmed to the field's size).
    assert 'value="750712185"' in finess_step(browser, "750712185").get_data(as_text=True)


def test_lifecycle_signup_email_step_validates_and_changes_nothing_on_error(browser, lc_app,
                                                                         mailbox):
    assert finess_step(browser, "750 712 184").status_code == 303
    page = text_of(browser.get(STEP2))
    assert "CENTRE DE SANTE DEMO PARIS 9" in page and "75009 PARIS" in page
    bad = [({"email": "pas-une-adresse", "email_confirm": "pas-une-adresse", "terms": "accepted"},
            "L'adresse e-mail n'est pas valide"),
           ({"email": EMAIL, "email_confirm": "autre@cds-demo.fr", "terms": "accepted"},
            "Les deux adresses e-mail saisies sont différentes"),
           ({"email": EMAIL, "email_confirm": EMAIL}, "Acceptez les conditions"),
           ({"email": "a" * 300 + "@x.fr", "email_confirm": "", "terms": "accepted"},
            "L'adresse e-mail n'est pas valide")]
    for data, message in bad:
        response = post_form(browser, STEP2, data)
        assert response.status_code == 400
        assert message in text_of(response)
    kept = post_form(browser, STEP2, {"email": EMAIL, "email_confirm": "x@y.fr"})
    assert f'value="{EMAIL}"' in kept.get_data(as_text=True)
    with lc_app.app_context():
        assert db.session.scalar(db.select(Account)) is None
    assert letters(lc_app) == [] and mailbox.received() == []


def test_lifecycle_signup_creates_account_posts_letter_and_validates_email(browser, lc_app,
                                                                          mailbox):
    response = create_centre(browser)
    assert response.status_code == 303
    confirmation = browser.get(response.headers["Location"])
    page = text_of(confirmation)
    assert "Votre compte a bien été créé" in page
    assert "courrier postal à l'adresse : 36 R DE LA CHAUSSEE D'ANTIN, 75009 PARIS" in page

    [letter] = letters(lc_app)
    assert letter.stat().st_mode & 0o777 == 0o600
    text = letter_text(letter)
    password = provisional_password_of(letter)
    assert len(password) == 12
    for expected in ("CENTRE DE SANTE DEMO PARIS 9",
                     "36 R DE LA CHAUSSEE D'ANTIN", "75009 PARIS", "N° FINESS 750712184",
                     "valable 15 jours", "0811 709 710", "mot de passe provisoire"):
        assert expected in text, expected
    [message] = mailbox.received()
    assert message["To"] == EMAIL
    assert password not in message.as_string() and password not in page
    with lc_app.app_context():
        account = db.session.scalar(db.select(Account))
        assert account.kind == "centre" and account.identifier_values("finess") == ["750712184"]
        assert account.password_hash.startswith("$argon2id$") and not account.email_verified
        assert 14 * 86400 < account.provisional_expires_at - time.time() <= 15 * 86400
        events = db.session.scalars(db.select(AuditEvent.event)).all()
        assert {"centre_account_created", "provisional_password_sent"} <= set(events)

    link = link_in(message)
    assert link.startswith("https://idp.test/creer-un-compte/valider/")
    assert "Adresse e-mail validée" in text_of(browser.get(path_of(link)))
    again = browser.get(path_of(link))
    assert again.status_code == 400 and "déjà été utilisé" in text_of(again)
    assert browser.get("/creer-un-compte/valider/nimportequoi").status_code == 400
    with lc_app.app_context():
        assert db.session.scalar(db.select(Account)).email_verified


def test_lifecycle_one_account_per_finess_without_revealing_its_email(browser, lc_app, mailbox):
    create_centre(browser)
    other = lc_app.test_client()
    response = finess_step(other, "750712184")
    assert response.status_code == 400
    page = text_of(response)
    assert "Un compte amelipro existe déjà pour cet établissement" in page
    assert EMAIL not in page and "direction@" not in page


def test_lifecycle_first_login_forces_a_new_password(browser, lc_app, mailbox):
    create_centre(browser)
    password = provisional_password_of(letters(lc_app)[0])
    response = login(browser, "750712184", password)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/mon-compte/mot-de-passe-provisoire")
    # Not logged in until the new password is chosen.
    assert browser.get("/mon-compte").headers["Location"].endswith("/login")
    form = browser.get("/mon-compte/mot-de-passe-provisoire")
    assert "Choisissez votre mot de passe" in text_of(form)
    token = csrf_of(form.get_data(as_text=True))
    weak = browser.post("/mon-compte/mot-de-passe-provisoire",
                        data={"csrf_token": token, "password": "azerty", "password_confirm": "azerty"})
    assert weak.status_code == 400 and "au moins 8 caractères" in text_of(weak)
    mismatch = browser.post("/mon-compte/mot-de-passe-provisoire", data={
        "csrf_token": token, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 400 and "différents" in text_of(mismatch)
    done = browser.post("/mon-compte/mot-de-passe-provisoire", data={
        "csrf_token": token, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"].endswith("/mon-compte")
    assert "Informations professionnelles" in text_of(browser.get("/mon-compte"))
    with lc_app.app_context():
        assert db.session.scalar(db.select(Account)).provisional_expires_at is None
    fresh = lc_app.test_client()
    assert login(fresh, "750712184", password).status_code == 200  # old one refused
    assert login(fresh, "750712184", NEW_PASSWORD).headers["Location"].endswith("/connecte")


def test_lifecycle_expired_provisional_password_says_how_to_get_a_new_letter(browser, lc_app,
                                                                           mailbox):
    create_centre(browser)
    password = provisional_password_of(letters(lc_app)[0])
    with lc_app.app_context():
        account = db.session.scalar(db.select(Account))
        account.provisional_expires_at = int(time.time()) - 1
        db.session.commit()
    response = login(browser, "750712184", password)
    assert response.status_code == 200
    page = text_of(response)
    assert "Votre mot de passe provisoire a expiré" in page and "0811 709 710" in page
    assert "Location" not in response.headers


def test_lifecycle_signup_forms_need_the_csrf_token(browser):
    browser.get(STEP1)
    refused = browser.post(STEP1, data={"finess": "750712184"})
    assert refused.status_code == 400 and "Location" not in refused.headers
