"""The CIS back-office: its own accounts and login, search, enrollments, account actions."""

import pytest
from conftest import PASSWORD
from lifecycle_support import (  # noqa: F401  (fixtures)
    browser,
    lc_app,
    letters,
    login,
    mailbox,
    post_form,
    provisional_password_of,
    smtp_server,
    text_of,
)

from idp.admin.accounts import AdminError, create_admin
from idp.extensions import db
from idp.models import Account, AuditEvent, Enrollment

ADMIN_PASSWORD = "Cis#Conseil-2026x"
KIT = "/back-office/professionnel/899700427885"


@pytest.fixture
def advisers(lc_app):
    with lc_app.app_context():
        create_admin("c.martin", "Claire MARTIN (CPAM 75)", "conseiller", ADMIN_PASSWORD)
        create_admin("l.durand", "Luc DURAND (CPAM 75)", "lecteur", ADMIN_PASSWORD)


def admin_login(client, username="c.martin", password=ADMIN_PASSWORD):
    return post_form(client, "/back-office/connexion", {"username": username,
                                                        "password": password})


def test_lifecycle_admin_accounts_are_separate_and_checked(lc_app, advisers):
    with lc_app.app_context():
        for args, message in [(("c.martin", "X", "conseiller", ADMIN_PASSWORD), "exists"),
                              (("Bad Name!", "X", "conseiller", ADMIN_PASSWORD), "username"),
                              (("x.y", "X", "chef", ADMIN_PASSWORD), "role"),
                              (("x.y", "X", "lecteur", "court"), "8 caractères")]:
            with pytest.raises(AdminError, match=message):
                create_admin(*args)
        assert db.session.scalar(db.select(Account)) is None  # not professionals' accounts


def test_lifecycle_back_office_needs_an_adviser_login(browser, lc_app, advisers, oidc):
    assert browser.get("/back-office").headers["Location"].endswith("/back-office/connexion")
    # A professional's login opens nothing here.
    oidc.create_ps()
    assert login(browser, "kit.doc@example.fr", PASSWORD).status_code == 303
    assert browser.get("/back-office").status_code == 303
    wrong = admin_login(browser, password="Faux#pass-123")
    assert wrong.status_code == 400 and "Identifiant ou mot de passe incorrect" in text_of(wrong)
    unknown = admin_login(browser, username="personne")
    assert unknown.status_code == 400 and text_of(unknown) == text_of(wrong).replace(
        'c.martin', 'personne')
    assert admin_login(browser).status_code == 303
    assert "Rechercher un professionnel" in text_of(browser.get("/back-office"))


def test_lifecycle_search_by_rpps_am_and_name(browser, lc_app, advisers, oidc):
    oidc.create_ps(am="751234565")
    admin_login(browser)
    for query in ("99700427885", "751234565", "doc00", "DOC0042788 KIT"):
        page = text_of(browser.get("/back-office", query_string={"q": query}))
        assert "DOC0042788 KIT" in page, query
    assert "Aucun professionnel" in text_of(browser.get("/back-office?q=zzz"))


def test_lifecycle_enroll_and_end_with_audit_and_staff_list(browser, lc_app, advisers, oidc):
    oidc.create_ps()
    admin_login(browser)
    enroll = KIT + "/inscrire"
    for data, message in [({"finess": "750034563", "profession": "10", "start_date": "2026-01-05"},
                           "n'est pas celui d'un centre de santé"),
                          ({"finess": "750712184", "profession": "99", "start_date": "2026-01-05"},
                           "Choisissez la profession"),
                          ({"finess": "750712184", "profession": "10", "start_date": "05/01"},
                           "date valide")]:
        response = post_form(browser, enroll, data, page_path=KIT)
        assert response.status_code == 400 and message in text_of(response), data
    with lc_app.app_context():
        assert db.session.scalar(db.select(Enrollment)) is None
    ok = post_form(browser, enroll, {"finess": "750712184", "profession": "10",
                                     "start_date": "2026-01-05"}, page_path=KIT)
    assert ok.status_code == 303
    again = post_form(browser, enroll, {"finess": "750712184", "profession": "10",
                                        "start_date": "2026-02-01"}, page_path=KIT)
    assert again.status_code == 400 and "déjà inscrit" in text_of(again)
    staff = text_of(browser.get("/back-office/centre/750712184"))
    assert "99700427885" in staff and "DOC0042788 KIT" in staff and "05/01/2026" in staff
    with lc_app.app_context():
        enrollment = db.session.scalar(db.select(Enrollment))
        assert (enrollment.person_id, enrollment.finess, enrollment.created_by) == (
            "99700427885", "750712184", "c.martin")
    end = f"/back-office/inscription/{enrollment.id}/fin"
    early = post_form(browser, end, {"end_date": "2025-12-31"}, page_path=KIT)
    assert early.status_code == 400 and "antérieure" in text_of(early)
    # Ending on the start date: the enrollment was never in force after it.
    assert post_form(browser, end, {"end_date": "2026-01-05"}, page_path=KIT).status_code == 303
    assert "Aucun professionnel inscrit" in text_of(browser.get("/back-office/centre/750712184"))
    with lc_app.app_context():
        events = db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.event.in_(("enrollment_added", "enrollment_ended")))).all()
        assert [(e.event, e.details["admin"]) for e in events] == [
            ("enrollment_added", "c.martin"), ("enrollment_ended", "c.martin")]
        assert all(e.account_id is not None for e in events)


def test_lifecycle_reader_role_cannot_act(browser, lc_app, advisers):
    admin_login(browser, "l.durand")
    assert browser.get(KIT).status_code == 200
    response = post_form(browser, KIT + "/inscrire", {"finess": "750712184", "profession": "10",
                                                      "start_date": "2026-01-05"}, page_path=KIT)
    assert response.status_code == 403


def test_lifecycle_unlock_and_resend_letter(browser, lc_app, advisers, mailbox):
    centre = lc_app.test_client()
    post_form(centre, "/creer-un-compte/centre", {"finess": "750712184"})
    post_form(centre, "/creer-un-compte/etablissement", {
        "email": "cds@example.fr", "email_confirm": "cds@example.fr", "terms": "accepted"})
    first = provisional_password_of(letters(lc_app)[0])
    for _ in range(3):
        login(centre, "750712184", "Faux#pass-123")
    assert "bloqué" in text_of(login(centre, "750712184", first))
    admin_login(browser)
    with lc_app.app_context():
        account_id = db.session.scalar(db.select(Account.id))
    page = "/back-office/centre/750712184"
    assert "mot de passe provisoire en attente" in text_of(browser.get(page))
    unlocked = post_form(browser, f"/back-office/compte/{account_id}/debloquer", {"back": page},
                         page_path=page)
    assert unlocked.headers["Location"].endswith(page)
    assert "Compte débloqué" in text_of(browser.get(page))
    post_form(browser, f"/back-office/compte/{account_id}/courrier", {"back": page},
              page_path=page)
    assert len(letters(lc_app)) == 2
    second = provisional_password_of(letters(lc_app)[1])
    assert second != first
    assert login(lc_app.test_client(), "750712184", first).status_code == 200
    forced = login(lc_app.test_client(), "750712184", second)
    assert forced.headers["Location"].endswith("/mon-compte/mot-de-passe-provisoire")
    with lc_app.app_context():
        events = db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.method == "admin", AuditEvent.account_id == account_id)).all()
        assert [(e.event, e.details["admin"]) for e in events] == [
            ("account_unlocked", "c.martin"), ("provisional_password_sent", "c.martin")]


def test_lifecycle_admins_create_command(lc_app, base_config, monkeypatch):
    from idp.admin.cli import admins

    for name, value in base_config.items():
        if name.startswith("IDP_"):
            monkeypatch.setenv(name, value)
    runner = lc_app.test_cli_runner()
    result = runner.invoke(admins, ["create", "--username", "a.cis", "--name", "A CIS",
                                    "--password", ADMIN_PASSWORD])
    assert result.exit_code == 0, result.output
    assert "a.cis created (role conseiller)" in result.output
    assert ADMIN_PASSWORD not in result.output
    again = runner.invoke(admins, ["create", "--username", "a.cis", "--name", "A CIS",
                                   "--password", ADMIN_PASSWORD])
    assert again.exit_code != 0 and "already exists" in again.output


def test_lifecycle_admins_enroll_command(lc_app, base_config, monkeypatch, advisers):
    import json

    from idp.admin.cli import admins

    for name, value in base_config.items():
        if name.startswith("IDP_"):
            monkeypatch.setenv(name, value)
    runner = lc_app.test_cli_runner()
    args = ["enroll", "--person", "899700427885", "--finess", "750712184", "--profession", "10",
            "--start", "2026-01-01", "--json"]
    refused = runner.invoke(admins, ["enroll", "--as", "l.durand", *args[1:]])
    assert refused.exit_code != 0 and "conseiller role" in refused.output
    not_a_centre = runner.invoke(admins, ["enroll", "--as", "c.martin", *args[1:4],
                                          "750000001", *args[5:]])
    assert not_a_centre.exit_code != 0 and "centre de santé" in not_a_centre.output
    with lc_app.app_context():
        assert db.session.scalar(db.select(Enrollment)) is None  # nothing on error

    done = runner.invoke(admins, ["enroll", "--as", "c.martin", *args[1:]])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {
        "enrollment_id": json.loads(done.stdout)["enrollment_id"], "person": "899700427885",
        "finess": "750712184", "profession": "10", "start_date": "2026-01-01"}
    again = runner.invoke(admins, ["enroll", "--as", "c.martin", *args[1:]])
    assert again.exit_code != 0 and "déjà inscrit" in again.output
    with lc_app.app_context():
        events = db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.event == "enrollment_added")).all()
        assert len(events) == 1 and "c.martin" in str(events[0].details)
