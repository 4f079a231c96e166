"""Argon2id hashes: the parameters live in each hash, and a login upgrades old ones."""

from __future__ import annotations

from argon2 import PasswordHasher
from conftest import OIDC, PASSWORD, csrf_of
from sqlalchemy import select

from idp.extensions import db
from idp.models import Account

EMAIL = "kit.doc@example.fr"


def _stored_hash(app, sub: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Account.password_hash).where(Account.sub == sub))


def _login(app, password: str) -> int:
    http = app.test_client()
    token = csrf_of(http.get("/login").get_data(as_text=True))
    return http.post("/login", data={"csrf_token": token, "identifier": EMAIL,
                                     "password": password}).status_code


def test_default_parameters_are_owasp_argon2id(app, oidc):
    stored = _stored_hash(app, oidc.create_ps(email=EMAIL))
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_login_rehashes_a_password_stored_with_older_parameters(make_app):
    before_app = make_app()
    sub = OIDC(before_app, before_app.test_client()).create_ps(email=EMAIL)
    old = _stored_hash(before_app, sub)
    stronger = make_app(IDP_ARGON2_TIME_COST="3")

    assert _login(stronger, "Wrong-password-1!") == 200
    assert _stored_hash(stronger, sub) == old  # a failure changes nothing

    assert _login(stronger, PASSWORD) == 303
    new = _stored_hash(stronger, sub)
    assert new != old and new.startswith("$argon2id$v=19$m=19456,t=3,p=1$")
    assert PasswordHasher().verify(new, PASSWORD)
    assert _login(stronger, PASSWORD) == 303
    assert _stored_hash(stronger, sub) == new  # already current: not hashed again
