"""Parallel wrong passwords cannot buy more than ``threshold`` password verifications.

50 browsers post a wrong password for the same account at the same moment. The
lockout takes an attempt slot atomically before any hash is computed, so at most
three verifications may run; everybody else is answered with the lock banner.
"""

import html
import re
import threading
import time

from conftest import csrf_of
from sqlalchemy import select

from idp.extensions import db
from idp.models import Account

PARALLEL = 50
THRESHOLD = 3
WRONG = "Identifiant ou mot de passe incorrect."
LOCKED = "Votre compte est bloqué. Veuillez réessayer dans 5 min"


def test_fifty_parallel_wrong_passwords_cost_at_most_three_verifications(app, oidc, monkeypatch):
    account_sub = oidc.create_ps()
    service = app.extensions["idp"].passwords
    original = service.verify
    guard = threading.Lock()
    calls = []

    def counting_verify(stored_hash, password):
        with guard:
            calls.append(stored_hash)
        time.sleep(0.05)  # a slow hash widens any check-then-act window
        return original(stored_hash, password)

    monkeypatch.setattr(service, "verify", counting_verify)

    # Every browser has its own session and CSRF token before the race starts.
    browsers = []
    for _ in range(PARALLEL):
        http = app.test_client()
        browsers.append((http, csrf_of(http.get("/login").get_data(as_text=True))))

    start = threading.Barrier(PARALLEL)
    results: list = [None] * PARALLEL

    def attack(index):
        http, token = browsers[index]
        start.wait()
        try:
            response = http.post("/login", data={"csrf_token": token,
                                                 "identifier": "kit.doc@example.fr",
                                                 "password": "Wrong-Password-42!"})
            text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ",
                                                 response.get_data(as_text=True))).split())
            results[index] = (response.status_code, text)
        except Exception as exc:  # reported below with the others
            results[index] = (None, repr(exc))

    threads = [threading.Thread(target=attack, args=(i,)) for i in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    print(f"\n50 parallel wrong passwords -> {len(calls)} password verification(s)")
    assert 1 <= len(calls) <= THRESHOLD, len(calls)
    assert all(status == 200 for status, _ in results), [r for r in results if r[0] != 200][:3]
    unexpected = [t[:300] for _, t in results if not (WRONG in t or LOCKED in t)]
    assert unexpected == [], unexpected[:2]
    assert sum(LOCKED in text for _, text in results) >= PARALLEL - THRESHOLD + 1

    lockout = app.extensions["idp"].lockout
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.sub == account_sub))
        assert lockout.is_locked(lockout.subject_for_account(account.id))
        assert account.consecutive_failures == len(calls)
