"""A valid card of nobody we know: « Créer votre compte amelipro », e-mail validation link."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from conftest import csrf_of
from cps_support import CardBrowser, cps_app, mailbox, page_text, pki, smtp_server  # noqa: F401

from idp.extensions import db
from idp.models import Account, AuditEvent

NEW_PASSWORD = "Qz7#vLm2!pZ-carte"


def _signup_page(client, pki):
    browser = CardBrowser(client, "/carte-cps")
    answer = browser.login_with_key(pki, "nouveau")
    assert answer.status_code == 303, page_text(answer)
    assert answer.headers["Location"].startswith("/carte-cps/creer-compte")
    page = client.get(answer.headers["Location"])
    assert page.status_code == 200
    return answer.headers["Location"], page


def _form(page, **changes):
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "email": "claire@example.fr",
            "email_confirm": "claire@example.fr", "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD, "terms": "accepted"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_form_is_prefilled_from_the_certificate(cps_app, pki):
    _, page = _signup_page(cps_app.test_client(), pki)
    text = page_text(page)
    assert "Créer votre compte amelipro" in text
    assert 'id="holder-name">NOUVEAU0034 CLAIRE<' in text
    assert 'id="holder-number">10003456786<' in text
    assert "Au moins un caractère spécial" in text  # the seed's checklist
    assert 'src="/static/card_signup.js"' in text


@pytest.mark.parametrize(("changes", "message"), [
    ({"email": "pas-une-adresse"}, "L'adresse e-mail n'est pas valide"),
    ({"email_confirm": "autre@example.fr"}, "Les deux adresses e-mail saisies sont différentes."),
    ({"password": "court", "password_confirm": "court"}, "au moins 8 caractères"),
    ({"password_confirm": "Autre#mot2passe"}, "Les deux mots de passe saisis sont différents."),
    ({"terms": None}, "Acceptez les conditions générales"),
])
def test_form_problems_are_explained(cps_app, pki, mailbox, changes, message):
    client = cps_app.test_client()
    url, page = _signup_page(client, pki)
    answer = client.post(url, data=_form(page, **changes))
    assert answer.status_code == 400
    assert message in page_text(answer)
    with cps_app.app_context():
        assert db.session.scalar(db.select(Account).where(Account.email == "claire@example.fr")) is None
    assert not mailbox.messages


def test_account_created_inactive_then_activated_by_the_mailed_link(cps_app, pki, mailbox):
    client = cps_app.test_client()
    url, page = _signup_page(client, pki)
    created = client.post(url, data=_form(page))
    assert created.status_code == 200
    assert "Un e-mail vient d'être envoyé à claire@example.fr" in page_text(created)
    with cps_app.app_context():
        account = db.session.scalar(db.select(Account).where(Account.email == "claire@example.fr"))
        assert not account.active and not account.email_verified
        assert account.identifier_values("rpps") == ["10003456786"]
        assert (account.given_name, account.family_name, account.profession_code) == (
            "CLAIRE", "NOUVEAU0034", "10")

    # Not active yet: the card says so (and mails the link again); no login.
    again = CardBrowser(client, "/carte-cps").login_with_key(pki, "nouveau")
    assert again.status_code == 403
    assert "Votre compte n'est pas encore activé" in page_text(again)
    assert len(mailbox.messages) == 2
    assert client.get("/connecte").status_code == 303

    link = mailbox.last_link()
    assert link.startswith("https://idp.test/carte-cps/valider-email/")
    activated = client.get(urlsplit(link).path)
    assert activated.status_code == 200
    assert "Votre compte vient d'être créé" in page_text(activated)
    assert "déjà validée" in page_text(client.get(urlsplit(link).path))
    with cps_app.app_context():
        account = db.session.scalar(db.select(Account).where(Account.email == "claire@example.fr"))
        assert account.active and account.email_verified
        events = {e.event for e in db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.account_id == account.id))}
    assert {"account_created", "email_validated"} <= events

    # Now both the card and the password log in.
    assert CardBrowser(client, "/carte-cps").login_with_key(pki, "nouveau").status_code == 303
    fresh = cps_app.test_client()
    login = fresh.get("/login")
    posted = fresh.post("/login", data={"csrf_token": csrf_of(login.get_data(as_text=True)),
                                        "identifier": "claire@example.fr", "password": NEW_PASSWORD})
    assert posted.status_code == 303


def test_forged_validation_link_is_refused(cps_app):
    answer = cps_app.test_client().get("/carte-cps/valider-email/forged.token")
    assert answer.status_code == 400
    assert "n'est pas valide" in page_text(answer)


def test_creation_form_needs_a_card_first(cps_app):
    answer = cps_app.test_client().get("/carte-cps/creer-compte")
    assert answer.status_code == 400
    assert "Reconnectez-vous avec votre carte CPS" in page_text(answer)
