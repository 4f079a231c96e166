"""Scheduled rotation: ``rotate(due_before=...)`` rotates once when the current key is old."""

from __future__ import annotations

import threading
import time

import pytest
from clock_support import Clock
from signing_helpers import by_state, files_store, keys_of, listing

from idp.signing.service import KeyService
from idp.signing.stores import FileKeyStore

DAY = 86400


@pytest.fixture
def app(make_app, tmp_path):
    return make_app(**files_store(tmp_path), IDP_JWKS_MAX_AGE=300, IDP_KEYS_REFRESH_SECONDS=0)


def _current(app) -> dict:
    return next(r for r in listing(app) if r["state"] == "current" and r["alg"] == "RS256")


def test_not_due_while_the_current_key_is_recent(app):
    activated = _current(app)["activated_at"]
    before = listing(app)
    with app.app_context():
        assert keys_of(app).rotate(due_before=activated) == {"rotated": False,
                                                             "reason": "not due"}
        assert keys_of(app).rotate(due_before=activated - DAY) == {"rotated": False,
                                                                   "reason": "not due"}
    assert listing(app) == before


def test_due_rotation_happens_once(app):
    states = by_state(listing(app))
    service = keys_of(app)
    clock = Clock(_current(app)["activated_at"] + 10 * DAY)
    service.clock = clock
    due = int(clock.now) - 7 * DAY
    with app.app_context():
        first = service.rotate(due_before=due)
        second = service.rotate(due_before=due)
    assert first["rotated"] is True
    assert (first["current"], first["retired"]) == (states["next"][0], states["current"][0])
    assert second == {"rotated": False, "reason": "not due"}
    after = by_state(listing(app))
    assert after["retired"] == states["current"] and after["current"] == states["next"]
    assert len(listing(app)) == 3


def test_two_workers_checking_together_rotate_once(app, tmp_path):
    """Every worker runs the schedule; the store's lock and the re-check make one rotate."""
    start = _current(app)["activated_at"] + 10 * DAY
    workers = [KeyService(FileKeyStore(tmp_path / "keys"), passphrase=None, jwks_max_age=300,
                          token_lifetime=300, refresh_seconds=0, clock=Clock(start))
               for _ in range(4)]
    barrier = threading.Barrier(len(workers))
    results: list = []

    def check(service):
        barrier.wait()
        results.append(service.rotate(due_before=int(start) - 7 * DAY))

    threads = [threading.Thread(target=check, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r["rotated"] for r in results) == [False, False, False, True], results
    assert all(r == {"rotated": False, "reason": "not due"} for r in results if not r["rotated"])
    states = by_state(listing(app))
    assert len(states["current"]) == len(states["next"]) == len(states["retired"]) == 1


def test_the_running_service_rotates_on_schedule(make_app, tmp_path, monkeypatch):
    """With IDP_KEY_ROTATION_DAYS the service checks periodically and rotates when due."""
    import idp.signing.setup as setup

    clock = Clock(time.time() + 2 * DAY)
    monkeypatch.setattr(setup, "SCHEDULE_CHECK_SECONDS", 0.05)
    monkeypatch.setattr(setup, "time", clock)
    app = make_app(**files_store(tmp_path), IDP_KEY_ROTATION_DAYS=1, IDP_JWKS_MAX_AGE=300,
                   IDP_KEYS_REFRESH_SECONDS=0)
    keys_of(app).clock = clock
    states = by_state(listing(app))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not by_state(listing(app))["retired"]:
        time.sleep(0.05)
    time.sleep(0.3)  # several more checks: no second rotation
    after = by_state(listing(app))
    assert after["retired"] == states["current"], after
    assert after["current"] == states["next"]
    assert len(after["next"]) == 1
