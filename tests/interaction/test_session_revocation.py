"""Ending every browser session of an account (password reset, admin action)."""

from conftest import query_of

from idp.extensions import db
from idp.interaction.login_state import revoke_account_sessions
from idp.models import Account


def test_revoked_sessions_need_a_new_login_and_new_ones_work(oidc, app):
    client_id, _ = oidc.register_client()
    sub = oidc.create_ps()
    oidc.code_flow(client_id)
    silent, _ = oidc.authorize_params(client_id, prompt="none")
    assert "code" in query_of(oidc.start(silent).headers["Location"])

    with app.app_context():
        account_id = db.session.scalar(db.select(Account.id).where(Account.sub == sub))
        with app.test_request_context():
            revoke_account_sessions(account_id)

    silent, _ = oidc.authorize_params(client_id, prompt="none")
    assert query_of(oidc.start(silent).headers["Location"])["error"] == "login_required"
    # A login made after the revocation is not affected by it.
    query, _ = oidc.code_flow(client_id)
    assert "code" in query
    silent, _ = oidc.authorize_params(client_id, prompt="none")
    assert "code" in query_of(oidc.start(silent).headers["Location"])
