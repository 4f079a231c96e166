"""Processes rotating at the same time leave exactly one current and one next key.

A few processes run ``idp keys rotate --force --json`` together, in several
rounds. To make them really race (and keep the test fast), a launcher process
builds the app once (imports, parsing the keys) and forks the racing processes;
each one, at every round, waits for the round's start signal (a file) and runs
the command exactly as ``python -m idp`` would (``runpy``), with its own app,
database connection and lock. Every rotation must succeed, and the rotations of
a round must form a single chain (each one promoting the next key the previous
one published): a lost update would leave two next keys, or two processes
promoting the same key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from signing_helpers import (
    by_state,
    database_store,
    files_store,
    init_keys,
    isolated_signing_keys,
    keys_of,
    listing,
)

from idp.signing.service import KeyService
from idp.signing.setup import load_keys
from idp.signing.stores import FileKeyStore, KeyStoreError

PROCESSES = 3
ROUNDS = 3

LAUNCHER = """
import os
import runpy
import sys
import time
import traceback
from pathlib import Path

from idp import create_app

create_app()  # imports everything and parses the keys once, before forking
count, rounds, signals, args = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:]


def say(line):
    # One write per line: the racers share the launcher's standard output.
    sys.stdout.flush()
    os.write(1, (line + "\\n").encode())


def racer(i):
    for n in range(rounds):
        say(f"ready {i} {n}")
        go = signals / f"go-{n}"
        deadline = time.monotonic() + 60
        while not go.exists():
            if time.monotonic() > deadline:
                return 3
            time.sleep(0.001)
        sys.argv = ["idp", *args]
        try:
            runpy.run_module("idp", run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            if exc.code:
                say(f"failed {i} {n}")
                return 1
        say(f"done {i} {n}")
    return 0


children = []
for i in range(count):
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = racer(i)
        except BaseException:
            traceback.print_exc()
            say(f"failed {i}")
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    children.append(pid)
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
sys.exit(1 if any(codes) else 0)
"""


class Racers:
    """``PROCESSES`` forked processes, each running one rotation per round."""

    def __init__(self, env: dict, cwd) -> None:
        self.signals = cwd / "signals"
        self.signals.mkdir()
        self.log = open(cwd / "racers.log", "w+")  # closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(PROCESSES), str(ROUNDS), str(self.signals),
             "keys", "rotate", "--force", "--json"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log, env=env,
            cwd=cwd, text=True)
        # Never hang the test suite: kill the racers if anything gets stuck.
        self.watchdog = threading.Timer(90, self.proc.kill)
        self.watchdog.start()
        self.round = 0
        assert self._until(self._all("ready", 0)) == []

    @staticmethod
    def _all(word: str, n: int) -> set[str]:
        return {f"{word} {i} {n}" for i in range(PROCESSES)}

    def _until(self, expected: set[str]) -> list[str]:
        """Read the output until every expected line came; the other lines."""
        expected = set(expected)
        lines = []
        while expected:
            line = self.proc.stdout.readline()
            if not line or line.startswith("failed"):
                self.kill()
                self.log.seek(0)
                raise AssertionError(f"a racer failed: {line!r} {lines} "
                                     f"{self.log.read()[-3000:]}")
            if line.strip() in expected:
                expected.remove(line.strip())
            else:
                lines.append(line)
        return lines

    def race(self) -> list[dict]:
        """One rotation in every racer at the same time; their JSON results."""
        (self.signals / f"go-{self.round}").touch()
        expected = self._all("done", self.round)
        self.round += 1
        if self.round < ROUNDS:
            expected |= self._all("ready", self.round)
        lines = self._until(expected)
        results = [json.loads(line) for line in lines if line.startswith("{")]
        assert len(results) == PROCESSES == len(lines), lines
        return results

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()

    def close(self) -> None:
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
        self.watchdog.cancel()
        self.proc.stdout.close()
        self.log.close()


@pytest.fixture
def isolated_table(base_config):
    with isolated_signing_keys(base_config["IDP_DATABASE_URL"]):
        yield


def _environment(base_config, settings: dict) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("IDP_") and k != "PYTHONUNBUFFERED"}
    env.update({"IDP_DATABASE_URL": base_config["IDP_DATABASE_URL"],
                "IDP_REDIS_URL": base_config["IDP_REDIS_URL"],
                "IDP_SECRET_KEY": base_config["IDP_SECRET_KEY"]})
    env.update({k: str(v) for k, v in settings.items()})
    return env


def _follow_chain(before: list[dict], results: list[dict]) -> tuple[str, str]:
    """Check the rotations happened one after the other, each on the state the previous one
    left; return the (current, next) kids the last one left."""
    states = by_state(before, "RS256")
    current, nxt = states["current"][0], states["next"][0]
    remaining = list(results)
    while remaining:
        step = next((r for r in remaining if r["retired"] == current), None)
        assert step is not None, f"no rotation retired {current}: {remaining}"
        assert step["rotated"] is True and step["current"] == nxt, (step, nxt)
        remaining.remove(step)
        current, nxt = step["current"], step["next"]
    return current, nxt


def _check_after(app, before: list[dict], results: list[dict]) -> None:
    after = listing(app)
    states = by_state(after)
    assert len(states["current"]) == 1, after
    assert len(states["next"]) == 1, after
    assert all(row["state"] in ("current", "next", "retired") for row in after), after
    # Each rotation published exactly one new key.
    assert len(after) == len(before) + len(results), (before, after)
    current, nxt = _follow_chain(before, results)
    assert states["current"] == [current] and states["next"] == [nxt], (states, results)


def _prune(app) -> None:
    """Remove the retired keys (keeps key parsing by each process short)."""
    service = keys_of(app)
    with app.app_context():
        for kid in by_state(service.listing())["retired"]:
            service.remove(kid, force=True)


def _run_rounds(app, env, cwd) -> None:
    racers = Racers(env, cwd)
    try:
        for _ in range(ROUNDS):
            before = listing(app)
            _check_after(app, before, racers.race())
            _prune(app)
    finally:
        racers.close()


def test_concurrent_rotations_with_the_files_store(make_app, base_config, tmp_path):
    settings = files_store(tmp_path, IDP_DATA_DIR=tmp_path / "data")
    app = make_app(**settings)
    _run_rounds(app, _environment(base_config, settings), tmp_path)


def test_concurrent_rotations_with_the_database_store(make_app, base_config, tmp_path,
                                                      isolated_table):
    # With SQLite the lock is a file in IDP_DATA_DIR: every process shares it.
    settings = database_store(IDP_DATA_DIR=tmp_path / "data", IDP_KEYS_DIR=tmp_path / "unused")
    app = make_app(**settings)
    init_keys(app)
    _run_rounds(app, _environment(base_config, settings), tmp_path)
    assert not (tmp_path / "unused").exists() or not any((tmp_path / "unused").iterdir())


def test_readers_never_see_a_half_applied_change_of_the_files_store(tmp_path):
    """Another worker of the host reads the keys while this one rotates and retires."""
    writer = KeyService(FileKeyStore(tmp_path / "keys"), passphrase=None, jwks_max_age=2,
                        token_lifetime=300, refresh_seconds=0)
    load_keys(writer)
    reader = KeyService(FileKeyStore(tmp_path / "keys"), passphrase=None, jwks_max_age=2,
                        token_lifetime=300, refresh_seconds=0)
    stop = threading.Event()
    seen: list[str] = []

    def read():
        while not stop.is_set():
            try:
                snapshot = reader.snapshot()
            except KeyStoreError as exc:
                seen.append(f"KeyStoreError: {exc}"[:200])
                continue
            currents = [k.kid for k in snapshot.keys if k.state == "current"]
            if len(currents) != 1:
                seen.append(f"{len(currents)} current keys")

    threads = [threading.Thread(target=read, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            writer.rotate(force=True)
            writer.retire(writer.snapshot_fresh().current("RS256").kid)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert seen == [], f"{len(seen)} inconsistent reads, e.g. {sorted(set(seen))[:4]}"
