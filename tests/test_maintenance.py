"""Purging expired codes, token families and e-mail links (``idp purge``)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from idp.extensions import db
from idp.maintenance import GRACE_SECONDS, purge_expired
from idp.models import AccountToken, AuthorizationCode, Token

DAY = 24 * 3600


@pytest.fixture
def issued(oidc, app):
    """A login with a refresh token and an unused reset link."""
    from idp.accounts import links

    client_id, secret = oidc.register_client(scope="openid offline_access")
    oidc.create_ps()
    tokens = oidc.tokens(client_id, secret, scope="openid offline_access")
    with app.app_context():
        account_id = db.session.scalar(select(Token.account_id))
        links.issue(account_id, "reset", ttl=3600)
    return client_id, secret, tokens


def _counts(app) -> dict[str, int]:
    with app.app_context():
        return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                for model in (AuthorizationCode, Token, AccountToken)}


def test_nothing_alive_or_just_expired_is_purged(app, oidc, issued):
    client_id, secret, tokens = issued
    before = _counts(app)
    assert before == {"authorization_codes": 1, "tokens": 1, "account_tokens": 1}
    with app.app_context():
        # The code expired after 60 s, but replays are still recognised for a day.
        assert purge_expired(time.time() + GRACE_SECONDS - 120) == {
            "authorization_codes": 0, "tokens": 0, "account_tokens": 0}
    assert _counts(app) == before
    assert oidc.refresh(client_id, secret, tokens["refresh_token"]).status_code == 200


def test_rows_a_day_past_their_end_are_deleted(app, oidc, issued):
    client_id, secret, tokens = issued
    with app.app_context():
        counts = purge_expired(time.time() + 5 * 3600 + DAY)  # past the 4 h absolute lifetime
    assert counts == {"authorization_codes": 1, "tokens": 1, "account_tokens": 1}
    assert _counts(app) == {"authorization_codes": 0, "tokens": 0, "account_tokens": 0}
    answer = oidc.refresh(client_id, secret, tokens["refresh_token"])
    assert answer.status_code == 400 and answer.get_json()["error"] == "invalid_grant"
