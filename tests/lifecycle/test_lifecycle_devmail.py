"""The demo's mailbox page and demo data (development only)."""

from conftest import OIDC
from lifecycle_support import post_form, text_of

from idp.accounts.notifications import wait_sent
from idp.config import Settings
from idp.devmail import start_server
from idp.extensions import db
from idp.models import AdminAccount, Establishment


def test_lifecycle_dev_mailbox_page_shows_received_messages(make_app, tmp_path):
    mailbox = tmp_path / "devmail"
    app = make_app(IDP_SMTP_URL=start_server(mailbox), IDP_DEV_MAILBOX=str(mailbox))
    OIDC(app, app.test_client()).create_ps()
    client = app.test_client()
    post_form(client, "/mot-de-passe-oublie/demande", {"email": "kit.doc@example.fr",
                                                       "number": ""})
    wait_sent()
    page = text_of(client.get("/dev/courriels"))
    assert "réinitialisation de votre mot de passe" in page
    assert "https://idp.test/mot-de-passe-oublie/nouveau/" in page


def test_lifecycle_dev_mailbox_page_is_off_by_default_and_refused_in_production(app, tmp_path):
    assert app.test_client().get("/dev/courriels").status_code == 404
    settings = Settings.from_env({"IDP_DEV_MAILBOX": str(tmp_path)})
    assert any("IDP_DEV_MAILBOX" in p for p in settings.production_problems())


def test_lifecycle_demo_loads_sample_referentials_and_an_adviser(app):
    from idp.demo import DEMO_ADMIN, _ensure_lifecycle_data

    with app.app_context():
        _ensure_lifecycle_data()
        _ensure_lifecycle_data()  # idempotent
        assert db.session.get(Establishment, "750712184").category == "124"
        assert db.session.scalar(db.select(AdminAccount.role).where(
            AdminAccount.username == DEMO_ADMIN)) == "conseiller"
