"""Password reset by e-mail link: identification, no enumeration, single-use link, effects."""

import time

from conftest import PASSWORD, csrf_of
from lifecycle_support import (  # noqa: F401  (fixtures)
    NEW_PASSWORD,
    browser,
    lc_app,
    link_in,
    login,
    mailbox,
    path_of,
    post_form,
    smtp_server,
    text_of,
)

from idp.accounts.notifications import wait_sent
from idp.extensions import db
from idp.models import Account, AuditEvent, Identifier, Token

EMAIL = "kit.doc@example.fr"
ASK = "/mot-de-passe-oublie/demande"


def make_ps(app, email=EMAIL, am="123456789", rpps="99700427885"):
    from conftest import OIDC

    return OIDC(app, app.test_client()).create_ps(email=email, am=am, rpps=rpps)


def ask(client, **data):
    return post_form(client, ASK, {"email": "", "number": "", **data})


def choose(client, link, password=NEW_PASSWORD, confirm=None):
    page = client.get(path_of(link))
    assert page.status_code == 200, text_of(page)
    return client.post(path_of(link), data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                                            "password": password,
                                            "password_confirm": confirm or password})


def test_lifecycle_forgot_password_link_leads_to_the_form(browser):
    assert browser.get("/mot-de-passe-oublie").headers["Location"].endswith(ASK)
    page = text_of(browser.get(ASK))
    assert "Adresse e-mail associée à votre compte" in page
    assert "ou N° d'Assurance Maladie ou FINESS" in page


def test_lifecycle_reset_by_email_shows_the_address_and_sends_a_link(browser, lc_app, mailbox):
    make_ps(lc_app)
    response = ask(browser, email=" Kit.Doc@Example.fr ")
    assert response.status_code == 303
    confirmation = text_of(browser.get(response.headers["Location"]))
    assert f"Si l'adresse {EMAIL} correspond à un compte amelipro" in confirmation
    [message] = mailbox.to(EMAIL)
    link = link_in(message)
    # Built from the issuer (https://idp.test), whatever Host the request carried.
    assert link.startswith("https://idp.test/mot-de-passe-oublie/nouveau/")
    assert len(link.rsplit("/", 1)[1]) >= 43  # 256 bits, base64url
    assert "réinitialisation" in message["Subject"]
    with lc_app.app_context():
        stored = db.session.scalar(db.select(AuditEvent).where(
            AuditEvent.event == "reset_requested"))
        assert stored is not None
        from idp.models import AccountToken

        token = db.session.scalar(db.select(AccountToken))
        assert token.token_hash != link.rsplit("/", 1)[1] and len(token.token_hash) == 64


def test_lifecycle_reset_link_ignores_a_forged_host_header(browser, lc_app, mailbox):
    make_ps(lc_app)
    page = browser.get(ASK, headers={"Host": "evil.example"})
    browser.post(ASK, headers={"Host": "evil.example"}, data={
        "csrf_token": csrf_of(page.get_data(as_text=True)), "email": EMAIL, "number": ""})
    [message] = mailbox.to(EMAIL)
    assert link_in(message).startswith("https://idp.test/")
    assert "evil.example" not in message.as_string()


def test_lifecycle_reset_by_number_hides_the_address(browser, lc_app, mailbox):
    make_ps(lc_app)
    response = ask(browser, number="123 456 789")
    page = text_of(browser.get(response.headers["Location"]))
    assert EMAIL not in page and "l'adresse e-mail associée au compte" in page
    assert len(mailbox.to(EMAIL)) == 1


def test_lifecycle_unknown_identifiers_get_the_same_answer_and_no_mail(browser, lc_app, mailbox):
    make_ps(lc_app)
    known = ask(browser, number="123456789")
    unknown = ask(lc_app.test_client(), number="987654321")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    first = text_of(browser.get(known.headers["Location"]))
    other = lc_app.test_client()
    ask(other, number="987654321")
    assert text_of(other.get("/mot-de-passe-oublie/envoye")) == first
    typed = lc_app.test_client()
    ask(typed, email="personne@nulle-part.fr")
    assert "Si l'adresse personne@nulle-part.fr" in text_of(typed.get("/mot-de-passe-oublie/envoye"))
    assert [m["To"] for m in mailbox.received()] == [EMAIL]
    # Timing: both answers do one lookup and start one background job, which waits for the
    # response to be sent before it creates a token and sends an e-mail.
    durations = {"known": [], "unknown": []}
    for _ in range(5):
        for label, number in (("known", "123456789"), ("unknown", "987654321")):
            client = lc_app.test_client()
            token = csrf_of(client.get(ASK).get_data(as_text=True))
            started = time.perf_counter()
            client.post(ASK, data={"csrf_token": token, "email": "", "number": number})
            durations[label].append(time.perf_counter() - started)
            wait_sent()
    known, unknown = (sorted(d)[2] for d in durations.values())  # medians
    assert abs(known - unknown) < 0.5 * max(known, unknown) + 0.005, durations


def test_lifecycle_reset_form_errors(browser, lc_app, mailbox):
    make_ps(lc_app)
    make_ps(lc_app, email="shared@example.fr", am="111111118", rpps="10001002350")
    make_ps(lc_app, email="shared@example.fr", am="222222226", rpps="10001003457")
    cases = [({}, "email", "Saisissez votre adresse e-mail, ou votre N°"),
             ({"email": EMAIL, "number": "123456789"}, "form", "soit votre adresse e-mail"),
             ({"email": "pas-une-adresse"}, "email", "n'est pas valide"),
             ({"number": "12345"}, "number", "comporte 9 caractères"),
             ({"number": "2A0001237"}, "number", "vérifiez la clé"),
             ({"email": "shared@example.fr"}, "email", "associée à plusieurs comptes")]
    for data, field, message in cases:
        response = ask(browser, **data)
        assert response.status_code == 400, data
        assert message in text_of(response), (data, text_of(response))
        if field != "form":
            assert f'aria-describedby="{field}-error"' in response.get_data(as_text=True)
    assert mailbox.received() == []
    # The number of one of the accounts sharing the address does it.
    ask(browser, number="222222226")
    assert len(mailbox.to("shared@example.fr")) == 1


def test_lifecycle_new_password_revokes_everything_and_is_single_use(browser, lc_app, mailbox,
                                                                   oidc):
    sub = make_ps(lc_app)
    client_id, secret = oidc.register_client()
    tokens = oidc.tokens(client_id, secret, identifier=EMAIL)
    # Lock the account with three failures first.
    locker = lc_app.test_client()
    for _ in range(3):
        login(locker, EMAIL, "Mauvais#Passe1")
    assert "bloqué" in text_of(login(locker, EMAIL, PASSWORD))

    ask(browser, email=EMAIL)
    ask(browser, email=EMAIL)
    first, second = (link_in(m) for m in mailbox.to(EMAIL))
    weak = choose(browser, second, "azerty")
    assert weak.status_code == 400 and "au moins 8 caractères" in text_of(weak)
    mismatch = choose(browser, second, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert mismatch.status_code == 400 and "différents" in text_of(mismatch)
    done = choose(browser, second)
    assert done.status_code == 303
    assert "Votre nouveau mot de passe est pris en compte" in text_of(
        browser.get(done.headers["Location"]))

    for link in (first, second):  # the other link died, this one was used
        reused = browser.get(path_of(link))
        assert reused.status_code == 400 and "déjà été utilisé" in text_of(reused)
    with lc_app.app_context():
        account = db.session.scalar(db.select(Account).where(Account.sub == sub))
        assert db.session.scalar(db.select(Token).where(Token.account_id == account.id,
                                                        Token.revoked_at.is_(None))) is None
        assert db.session.scalar(db.select(AuditEvent).where(
            AuditEvent.event == "password_reset", AuditEvent.account_id == account.id))
    assert oidc.refresh(client_id, secret, tokens["refresh_token"]).status_code == 400
    # The browser session opened before the reset is gone; the lock was lifted.
    assert login(lc_app.test_client(), EMAIL, PASSWORD).status_code == 200
    assert login(lc_app.test_client(), EMAIL, NEW_PASSWORD).status_code == 303
    silent, _ = oidc.authorize_params(client_id, prompt="none")
    assert "login_required" in oidc.start(silent).headers["Location"]
    notice = [m for m in mailbox.to(EMAIL) if "réinitialisé" in m["Subject"]]
    assert len(notice) == 1 and NEW_PASSWORD not in notice[0].as_string()


def test_lifecycle_expired_and_unknown_links(browser, make_app, smtp_server, mailbox):
    app = make_app(IDP_SMTP_URL=smtp_server.url, IDP_RESET_TOKEN_TTL="1")
    make_ps(app)
    client = app.test_client()
    ask(client, email=EMAIL)
    link = link_in(mailbox.to(EMAIL)[0])
    time.sleep(1.1)
    expired = client.get(path_of(link))
    assert expired.status_code == 400 and "a expiré" in text_of(expired)
    for bad in ("abc", "x" * 500):
        response = client.get("/mot-de-passe-oublie/nouveau/" + bad)
        assert response.status_code == 400 and "n'est pas valide" in text_of(response)


def test_lifecycle_no_link_while_the_provisional_letter_is_awaited(browser, lc_app, mailbox):
    with lc_app.app_context():
        account = Account(kind="centre", email="cds@example.fr", email_verified=True,
                          provisional_expires_at=int(time.time()) + 3600,
                          organisation_name="CDS")
        account.identifiers.append(Identifier(kind="finess", value="930020904"))
        db.session.add(account)
        db.session.commit()
    response = ask(browser, number="930020904")
    assert response.status_code == 303
    assert mailbox.received() == []
