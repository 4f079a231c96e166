"""Password lockout through the login page: one counter per account, growing locks,
no enumeration, a database count that survives Redis, and audit events.

The seed rule: the third consecutive wrong password locks the account, whatever
identifier was typed, with « Votre compte est bloqué. Veuillez réessayer dans
X min ou connectez-vous avec votre carte CPS. »
"""

import html
import json
import re
import time

import pytest
from argon2 import PasswordHasher
from conftest import OIDC, PASSWORD, csrf_of
from sqlalchemy import select, update

from idp.authenticators.password import DISABLED
from idp.extensions import db
from idp.models import Account, AuditEvent

WRONG = "Identifiant ou mot de passe incorrect."
BAD_PASSWORD = "Not-The-Password-7!"
EMAIL = "kit.doc@example.fr"
AM = "123456789"
USER_AGENT = "IdP-Test-Browser/1.0"
CLIENT_IP = "203.0.113.7"


def lock_banner(minutes: int) -> str:
    return (f"Votre compte est bloqué. Veuillez réessayer dans {minutes} min "
            "ou connectez-vous avec votre carte CPS.")


def text_of(response) -> str:
    """The visible text of an HTML response, tags removed and spaces collapsed."""
    raw = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(raw).split())


class Browser:
    """One browser with its own session, on the stand-alone login page."""

    def __init__(self, app):
        self.http = app.test_client()
        self.cookie_names: set[str] = set()
        page = self._seen(self.http.get("/login", headers={"User-Agent": USER_AGENT}))
        assert page.status_code == 200
        self.csrf = csrf_of(page.get_data(as_text=True))

    def _seen(self, response):
        for header in response.headers.getlist("Set-Cookie"):
            self.cookie_names.add(header.split("=", 1)[0])
        return response

    def submit(self, identifier: str, password: str):
        return self._seen(self.http.post(
            "/login", data={"csrf_token": self.csrf, "identifier": identifier,
                            "password": password},
            headers={"User-Agent": USER_AGENT}, environ_base={"REMOTE_ADDR": CLIENT_IP}))

    def logged_in(self) -> bool:
        return self.http.get("/connecte").status_code == 200


def fail_once(app, identifier: str = EMAIL):
    """One wrong password from a new browser (counters must not be per session)."""
    return Browser(app).submit(identifier, BAD_PASSWORD)


def lock_account(app, identifier: str = EMAIL):
    """Three wrong passwords; return the third response."""
    for _ in range(2):
        assert WRONG in text_of(fail_once(app, identifier))
    return fail_once(app, identifier)


def account_id(app, sub: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Account.id).where(Account.sub == sub))


def lock_key(account: int) -> str:
    return f"idp:pwd:lock:a:{account}"


def redis_of(app):
    return app.extensions["redis"]


def normalised(response, *secrets: str) -> str:
    """A page body with the per-session and per-attempt parts replaced."""
    body = response.get_data(as_text=True)
    body = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value="-"', body)
    for value in secrets:
        body = body.replace(html.escape(value), "<typed>")
    return body


class VerifyCounter:
    """Counts PasswordService.verify calls of an app, and the Argon2 verifications behind them."""

    def __init__(self, app, monkeypatch):
        service = app.extensions["idp"].passwords
        verify, argon2_verify = service.verify, PasswordHasher.verify
        self.calls = self.without_hash = self.argon2 = 0

        def counting_verify(stored_hash, password):
            self.calls += 1
            self.without_hash += stored_hash is None
            return verify(stored_hash, password)

        def counting_argon2_verify(hasher, hash_, password):
            self.argon2 += 1
            return argon2_verify(hasher, hash_, password)

        monkeypatch.setattr(service, "verify", counting_verify)
        monkeypatch.setattr(PasswordHasher, "verify", counting_argon2_verify)


@pytest.fixture
def ps(app, oidc):
    """A professional's account id (e-mail kit.doc@example.fr, numéro AM 123456789)."""
    return account_id(app, oidc.create_ps(email=EMAIL, am=AM))


# --- the core rule ---------------------------------------------------------------------------

def test_third_consecutive_failure_locks_with_the_seed_banner(app, ps):
    for _ in range(2):
        response = fail_once(app)
        assert response.status_code == 200
        assert WRONG in text_of(response)
        assert "bloqué" not in text_of(response)
    third = fail_once(app)
    assert third.status_code == 200
    assert lock_banner(5) in text_of(third)
    assert WRONG not in text_of(third)
    ttl = redis_of(app).ttl(lock_key(ps))
    assert 290 <= ttl <= 300
    # Any browser, any later attempt: still locked.
    assert lock_banner(5) in text_of(fail_once(app, AM))


def test_failures_typed_with_different_identifiers_share_one_counter(app, ps):
    assert WRONG in text_of(fail_once(app, EMAIL))
    assert WRONG in text_of(fail_once(app, "123 456 789"))
    assert lock_banner(5) in text_of(fail_once(app, "KIT.DOC@EXAMPLE.FR"))
    assert redis_of(app).exists(lock_key(ps))


def test_right_password_while_locked_gets_the_same_answer_and_no_login(app, ps, monkeypatch):
    lock_account(app)
    counter = VerifyCounter(app, monkeypatch)
    browser = Browser(app)
    right = browser.submit(EMAIL, PASSWORD)
    wrong = browser.submit(EMAIL, BAD_PASSWORD)
    assert right.status_code == wrong.status_code == 200
    assert normalised(right) == normalised(wrong)
    assert lock_banner(5) in text_of(right)
    assert "Location" not in right.headers
    assert not browser.logged_in()
    # While locked the password is not even evaluated.
    assert counter.calls == counter.argon2 == 0
    with app.app_context():
        events = db.session.scalars(select(AuditEvent.event)
                                    .where(AuditEvent.account_id == ps)).all()
    assert "login_success" not in events


def test_success_before_the_third_failure_resets_the_counter(app, ps):
    fail_once(app)
    fail_once(app)
    browser = Browser(app)
    success = browser.submit(EMAIL, PASSWORD)
    assert success.status_code == 303, text_of(success)
    assert browser.logged_in()
    with app.app_context():
        assert db.session.get(Account, ps).consecutive_failures == 0
    # A fresh streak: two failures do not lock, the third does.
    assert WRONG in text_of(fail_once(app))
    assert WRONG in text_of(fail_once(app))
    assert lock_banner(5) in text_of(fail_once(app))


def test_lock_durations_grow_with_each_lock_and_stop_at_the_last_one(app, ps):
    # IDP_LOCKOUT_DURATIONS default: 300,900,1800,3600 seconds.
    for minutes in (5, 15, 30, 60, 60):
        assert lock_banner(minutes) in text_of(lock_account(app))
        ttl = redis_of(app).ttl(lock_key(ps))
        assert minutes * 60 - 10 <= ttl <= minutes * 60
        assert lock_banner(minutes) in text_of(fail_once(app))
        redis_of(app).delete(lock_key(ps))  # the lock expires


def test_a_lock_ends_by_itself(make_app):
    app = make_app(IDP_LOCKOUT_DURATIONS="1")
    OIDC(app, app.test_client()).create_ps(email=EMAIL, am=AM)
    assert lock_banner(1) in text_of(lock_account(app))
    assert lock_banner(1) in text_of(Browser(app).submit(EMAIL, PASSWORD))
    time.sleep(1.2)
    browser = Browser(app)
    assert browser.submit(EMAIL, PASSWORD).status_code == 303
    assert browser.logged_in()


def test_password_disabled_after_too_many_failures_survives_redis_loss(app, ps):
    with app.app_context():
        db.session.execute(update(Account).where(Account.id == ps)
                           .values(consecutive_failures=99))
        db.session.commit()
    redis_of(app).flushdb()  # Redis loss: the database count must remain
    assert WRONG in text_of(fail_once(app))  # the 100th consecutive failure
    with app.app_context():
        account = db.session.get(Account, ps)
        assert account.consecutive_failures == 100
        assert account.password_disabled
    redis_of(app).flushdb()
    for identifier in (EMAIL, AM):
        browser = Browser(app)
        response = browser.submit(identifier, PASSWORD)
        assert response.status_code != 303
        assert DISABLED in text_of(response)
        assert not browser.logged_in()


# --- no account enumeration ------------------------------------------------------------------

def attempt_trace(app, identifier: str, attempts: int = 4):
    """Status, normalised body and cookie names of wrong-password attempts, one browser each."""
    trace = []
    for _ in range(attempts):
        browser = Browser(app)
        response = browser.submit(identifier, BAD_PASSWORD)
        trace.append((response.status_code, normalised(response, identifier),
                      frozenset(browser.cookie_names)))
    return trace


@pytest.mark.parametrize("known, unknown", [(EMAIL, "nobody.here@example.fr"),
                                            (AM, "987654321")])
def test_unknown_identifier_gets_exactly_the_answers_of_a_known_one(app, ps, known, unknown):
    known_trace = attempt_trace(app, known)
    unknown_trace = attempt_trace(app, unknown)
    assert known_trace == unknown_trace
    statuses, bodies, _ = zip(*unknown_trace, strict=True)
    assert statuses == (200, 200, 200, 200)
    assert WRONG in bodies[0] and WRONG in bodies[1]
    assert lock_banner(5) in text_of(fail_once(app, unknown))


def test_unknown_identifiers_cost_a_password_verification_too(app, ps, monkeypatch):
    counter = VerifyCounter(app, monkeypatch)
    lock_account(app, "nobody.here@example.fr")
    assert counter.calls == 3
    assert counter.without_hash == 3
    assert counter.argon2 == 3  # a real (dummy) hash was verified each time
    fail_once(app, "nobody.here@example.fr")
    assert counter.calls == 3  # locked like a real account: no more verification
    lock_account(app, EMAIL)
    assert counter.calls == 6 and counter.without_hash == 3
    assert counter.argon2 == 6  # same work for a known account


# --- audit ------------------------------------------------------------------------------------

def test_success_failure_and_lock_are_audited_without_secrets(app, ps):
    browser = Browser(app)
    assert browser.submit("123 456 789", PASSWORD).status_code == 303
    for identifier in (EMAIL, "KIT.DOC@EXAMPLE.FR", AM):
        fail_once(app, identifier)
    fail_once(app, "nobody.here@example.fr")
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        mine = [(r.event, r.method, r.ip, r.user_agent) for r in rows if r.account_id == ps]
        dumped = [json.dumps({c.name: str(getattr(r, c.name))
                              for c in AuditEvent.__table__.columns}, ensure_ascii=False)
                  for r in rows]
        unknown = [r.event for r in rows if r.account_id is None]
    expected = ["login_success"] + ["login_failure"] * 3 + ["account_locked"]
    assert [m[0] for m in mine] == expected
    assert all(m[1:] == ("password", CLIENT_IP, USER_AGENT) for m in mine), mine
    assert unknown == ["login_failure"]
    secrets = [PASSWORD, BAD_PASSWORD, EMAIL, "123456789", "123 456 789", "nobody.here"]
    for row in dumped:
        for secret in secrets:
            assert secret.lower() not in row.lower(), row
