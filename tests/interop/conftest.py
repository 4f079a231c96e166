"""Fixtures of the interoperability tests: the real IdP server in a subprocess.

``live_idp`` (session-scoped) starts ``python -m idp run`` on a free loopback
port with its own data directory, keys and secret, waits for the discovery
document, and stops the server at the end of the session.

Storage: the embedded default (SQLite in the data directory + the embedded
Redis the application starts itself) unless the test environment points at
real services:

* ``IDP_TEST_DATABASE_URL`` (PostgreSQL): a fresh database
  ``idp_interop_<random>`` is created on that server for the run and dropped
  afterwards; any other non-SQLite URL is passed through unchanged.
* ``IDP_TEST_REDIS_URL``: passed through as ``IDP_REDIS_URL``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import cps_support
import pytest

INTEROP_DIR = Path(__file__).resolve().parent
REPO_ROOT = INTEROP_DIR.parent.parent
SAMPLES = REPO_ROOT / "idp" / "data" / "samples"
RPPS_SAMPLE = SAMPLES / "PS_LibreAcces_Personne_activite_sample.txt"
FINESS_SAMPLE = SAMPLES / "etalab-cs1100507-stock-sample.csv"

STARTUP_TIMEOUT_S = 30.0
CLI_TIMEOUT_S = 120.0

# The professional the flows log in as (fictitious test data).
PS_EMAIL = "kit.doc@example.fr"
PS_PASSWORD = "Xq7#vLm2!pZ-interop"


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, limit: int = 6000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "<unreadable>"
    return text[-limit:]


def _parse_json_output(stdout: str) -> dict:
    """The JSON object a ``--json`` command printed (tolerating log lines around it)."""
    try:
        return json.loads(stdout)
    except json.JSONDecodeError:
        start, end = stdout.find("{"), stdout.rfind("}")
        if start == -1 or end <= start:
            raise
        return json.loads(stdout[start:end + 1])


@dataclass
class LiveIdp:
    """A running IdP server and the means to administer it."""

    issuer: str
    env: dict[str, str]
    data_dir: Path
    process: subprocess.Popen
    stdout_path: Path
    stderr_path: Path
    accounts: dict[str, dict] = field(default_factory=dict)

    def cli(self, *args: str) -> dict:
        """Run ``python -m idp <args>`` (an admin command ending in ``--json``); return its JSON."""
        cmd = [sys.executable, "-m", "idp", *args]
        proc = subprocess.run(cmd, env=self.env, cwd=self.data_dir, capture_output=True,
                              text=True, check=False, timeout=CLI_TIMEOUT_S)
        if proc.returncode != 0:
            pytest.fail(f"{' '.join(cmd[1:])} exited with {proc.returncode}\n"
                        f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
        try:
            return _parse_json_output(proc.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"{' '.join(cmd[1:])} printed no JSON object\nstdout:\n{proc.stdout[-3000:]}"
                        f"\nstderr:\n{proc.stderr[-3000:]}")

    def server_logs(self) -> str:
        return (f"--- server stdout (tail) ---\n{_tail(self.stdout_path)}\n"
                f"--- server stderr (tail) ---\n{_tail(self.stderr_path)}")


# ---------------------------------------------------------------------------
# PostgreSQL: one fresh database per run
# ---------------------------------------------------------------------------

def _create_postgres_database(test_url: str) -> tuple[str, object]:
    """Create ``idp_interop_<random>`` next to ``test_url``'s database; return (url, dropper)."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(test_url)
    name = f"idp_interop_{secrets.token_hex(6)}"
    admin_url = base.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    app_url = base.set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False)

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            try:
                # FORCE ends connections a killed server may have left behind (PostgreSQL 13+).
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except psycopg.errors.SyntaxError:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')

    return app_url, drop


# ---------------------------------------------------------------------------
# Stopping the server without leaving the embedded Redis behind
# ---------------------------------------------------------------------------

@contextlib.contextmanager
def _sigint_not_ignored():
    """Let the server inherit a default SIGINT, which Python turns into KeyboardInterrupt.

    A test run started in the background by a non-interactive shell ignores
    SIGINT, and an ignored signal stays ignored across fork and exec: the
    server would then only stop on SIGTERM, skipping its atexit clean-up.
    """
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        yield
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop(process: subprocess.Popen) -> None:
    """SIGINT first (Python runs its atexit hooks, the embedded Redis shuts down), then harder."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 15), (signal.SIGTERM, 5)):
        try:
            process.send_signal(sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
    try:
        # The server runs in its own process group: take its workers along.
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait(timeout=10)


def _orphans_under(directory: Path) -> list[int]:
    """PIDs of daemonized helpers (the embedded redis-server) whose cwd is in ``directory``."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    root = directory.resolve()
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm.startswith("redis-server") and (cwd == root or root in cwd.parents):
            found.append(int(entry.name))
    return found


def _reap_orphans(directory: Path) -> None:
    for pid in _orphans_under(directory):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + 5
    while _orphans_under(directory) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in _orphans_under(directory):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

def _wait_until_ready(idp: LiveIdp) -> None:
    url = f"{idp.issuer}/.well-known/openid-configuration"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last = "no answer yet"
    while time.monotonic() < deadline:
        if idp.process.poll() is not None:
            pytest.fail(f"the IdP server exited with {idp.process.returncode} before answering "
                        f"{url}\n{idp.server_logs()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}: {exc.read(500)!r}"
        except (urllib.error.URLError, OSError) as exc:
            last = repr(exc)
        time.sleep(0.2)
    pytest.fail(f"the IdP server did not answer {url} with 200 within {STARTUP_TIMEOUT_S:.0f} s "
                f"(last: {last})\n{idp.server_logs()}")


def _idp_env(data_dir: Path, issuer: str, extra: dict[str, str]) -> tuple[dict[str, str], object]:
    """The server environment of ``live_idp`` plus ``extra``; (env, database dropper or None)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("IDP_") or k.startswith("IDP_TEST_")}
    env.update(
        IDP_ISSUER=issuer,
        IDP_DATA_DIR=str(data_dir),
        IDP_KEYS_DIR=str(data_dir / "keys"),
        IDP_SECRET_KEY=secrets.token_hex(32),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p),
        **extra,
    )
    test_redis = os.environ.get("IDP_TEST_REDIS_URL", "").strip()
    if test_redis:
        env["IDP_REDIS_URL"] = test_redis
    drop_database = None
    test_db = os.environ.get("IDP_TEST_DATABASE_URL", "").strip()
    if test_db.startswith("postgresql"):
        env["IDP_DATABASE_URL"], drop_database = _create_postgres_database(test_db)
    elif test_db and not test_db.startswith("sqlite"):
        env["IDP_DATABASE_URL"] = test_db
    return env, drop_database


@pytest.fixture(scope="session")
def live_idp(tmp_path_factory) -> LiveIdp:
    """The real IdP, started with ``python -m idp run`` on a free loopback port."""
    data_dir = tmp_path_factory.mktemp("idp-interop")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"

    env, drop_database = _idp_env(data_dir, issuer, {})
    # A SQLite test URL is ignored: the embedded default gives this run its own fresh file.

    stdout_path = data_dir / "server.stdout.log"
    stderr_path = data_dir / "server.stderr.log"
    cmd = [sys.executable, "-m", "idp", "run", "--host", "127.0.0.1", "--port", str(port)]
    process = None
    try:
        with (open(stdout_path, "wb") as out, open(stderr_path, "wb") as err,
              _sigint_not_ignored()):
            process = subprocess.Popen(cmd, env=env, cwd=data_dir, stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=err, start_new_session=True)
        idp = LiveIdp(issuer=issuer, env=env, data_dir=data_dir, process=process,
                      stdout_path=stdout_path, stderr_path=stderr_path)
        _wait_until_ready(idp)
        yield idp
    finally:
        if process is not None:
            _stop(process)
        _reap_orphans(data_dir)
        if drop_database is not None:
            drop_database()


@pytest.fixture(scope="session")
def ps_account(live_idp: LiveIdp) -> dict:
    """A health professional account with a password (created once per session).

    The professional is in the RPPS sample that is imported first, as every real one is
    in the national referential, and an adviser enrolls them in the sample's centre de
    santé: the ``scope_all`` claims (libéral and salaried activities) come from there.
    """
    for kind, sample in (("finess", FINESS_SAMPLE), ("rpps", RPPS_SAMPLE)):
        imported = live_idp.cli("referentials", "import", kind, str(sample), "--no-progress",
                                "--json")
        assert imported["rejected"] == [] and imported["lines"] > 0, imported
    live_idp.cli("admins", "create", "--username", "cis.interop", "--name", "CIS (interop)",
                 "--password", PS_PASSWORD, "--json")
    enrolled = live_idp.cli("admins", "enroll", "--as", "cis.interop", "--person", "899700427885",
                            "--finess", "750712184", "--profession", "10",
                            "--start", "2026-01-01", "--json")
    assert enrolled["finess"] == "750712184", enrolled
    created = live_idp.cli(
        "accounts", "create-ps",
        "--email", PS_EMAIL,
        "--am", "123456789",
        "--rpps", "99700427885",
        "--given-name", "KIT",
        "--family-name", "DOC0042788",
        "--profession", "10",
        "--password", PS_PASSWORD,
        "--json",
    )
    assert created.get("sub"), f"accounts create-ps printed no sub: {created}"
    return {"identifier": PS_EMAIL, "password": PS_PASSWORD, "sub": created["sub"],
            "email": PS_EMAIL, "given_name": "KIT", "family_name": "DOC0042788",
            "created": created}


# ---------------------------------------------------------------------------
# Card login (CPS): a second server with the card method, the PC/SC stack
# (pcscd + vpcd), a virtual card and the real card agent (idp-card-agent)
# ---------------------------------------------------------------------------

# The test PKI's "kit" card holds RPPS 99700427885: the professional of the card flows.
CARD_NAME = "kit"
CARD_PS = {"email": "kit.carte@example.fr", "am": "123456789", "rpps": "99700427885",
           "given_name": "KIT", "family_name": "DOC0042788", "profession": "10"}
AGENT_STARTUP_TIMEOUT_S = 15.0


# pcscd running with the vpcd reader (started and stopped by the fixture when not running);
# without pcscd or vsmartcard-vpcd the card tests skip, and fail under CI=true.
pcsc = cps_support.pcsc


@pytest.fixture(scope="session")
def card_pki(tmp_path_factory) -> dict:
    """A fresh test PKI (``idp cps make-test-pki``): trust anchors, CRL, cards."""
    from idp.devtools.test_pki import make_test_pki

    return make_test_pki(tmp_path_factory.mktemp("card-pki"))


@dataclass
class CardStack:
    """The card-enabled IdP and the card agent that its login page talks to."""

    idp: LiveIdp
    agent_url: str
    agent_process: subprocess.Popen
    agent_log: Path
    pin: str
    reader: str

    def agent_logs(self) -> str:
        return f"--- card agent log (tail) ---\n{_tail(self.agent_log)}"


def _wait_for_agent(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + AGENT_STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"idp-card-agent exited with {process.returncode}\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"idp-card-agent did not listen on {url} within {AGENT_STARTUP_TIMEOUT_S:.0f} s\n"
                f"{_tail(log)}")


@pytest.fixture(scope="session")
def card_stack(tmp_path_factory, card_pki: dict, pcsc: str) -> CardStack:
    """A second real IdP (``python -m idp run``) with ``IDP_AUTHENTICATORS=password,cps``,
    the test PKI's trust anchors and CRL, and ``idp-card-agent`` (pyscard → pcscd → vpcd)
    allowing that IdP's origin, on a free port the IdP's card page is told about."""
    data_dir = tmp_path_factory.mktemp("idp-interop-card")
    port, agent_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{port}"
    agent_url = f"http://127.0.0.1:{agent_port}"
    env, drop_database = _idp_env(data_dir, issuer, {
        "IDP_AUTHENTICATORS": "password,cps",
        "IDP_CPS_TRUST_ANCHORS": card_pki["trust_anchors"],
        "IDP_CPS_CRLS": card_pki["crl"],
        "IDP_CPS_AGENT_URL": agent_url,
    })
    stdout_path, stderr_path = data_dir / "server.stdout.log", data_dir / "server.stderr.log"
    agent_log = data_dir / "agent.log"
    process = agent = None
    try:
        with (open(stdout_path, "wb") as out, open(stderr_path, "wb") as err,
              _sigint_not_ignored()):
            process = subprocess.Popen(
                [sys.executable, "-m", "idp", "run", "--host", "127.0.0.1", "--port", str(port)],
                env=env, cwd=data_dir, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True)
        idp = LiveIdp(issuer=issuer, env=env, data_dir=data_dir, process=process,
                      stdout_path=stdout_path, stderr_path=stderr_path)
        with open(agent_log, "wb") as log:
            # The console script a professional runs, restricted to the virtual reader.
            agent = subprocess.Popen(
                [str(Path(sys.executable).parent / "idp-card-agent"), "--port", str(agent_port),
                 "--origin", issuer, "--reader", pcsc],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        _wait_until_ready(idp)
        _wait_for_agent(agent_url, agent, agent_log)
        yield CardStack(idp=idp, agent_url=agent_url, agent_process=agent, agent_log=agent_log,
                        pin=card_pki["pin"], reader=pcsc)
    finally:
        if agent is not None and agent.poll() is None:
            agent.terminate()
            agent.wait(timeout=10)
        if process is not None:
            _stop(process)
        _reap_orphans(data_dir)
        if drop_database is not None:
            drop_database()


@pytest.fixture(scope="session")
def card_account(card_stack: CardStack) -> dict:
    """The professional of the ``kit`` card, with an account on the card-enabled IdP."""
    created = card_stack.idp.cli(
        "accounts", "create-ps", "--email", CARD_PS["email"], "--am", CARD_PS["am"],
        "--rpps", CARD_PS["rpps"], "--given-name", CARD_PS["given_name"],
        "--family-name", CARD_PS["family_name"], "--profession", CARD_PS["profession"],
        "--password", PS_PASSWORD, "--json")
    assert created.get("sub"), f"accounts create-ps printed no sub: {created}"
    return {**CARD_PS, "sub": created["sub"]}


@pytest.fixture(scope="module")
def inserted_card(card_stack: CardStack, card_pki: dict):
    """The ``kit`` virtual card in the vpcd reader (removed after the module), once the agent
    sees it; yields the card (its ``tries_left`` is the PIN counter)."""
    from idp.devtools.virtual_card import VpcdConnection, load_test_card

    card = load_test_card(Path(card_pki["trust_anchors"]).parent, CARD_NAME)
    connection = VpcdConnection(card).start()
    try:
        status = cps_support.wait_for_card(card_stack.agent_url, card_stack.idp.issuer)
        assert status.get("card_present") is True, f"the agent does not see the card: {status}\n" \
                                                   f"{card_stack.agent_logs()}"
        yield card
    finally:
        connection.remove()
        cps_support.wait_for_card(card_stack.agent_url, card_stack.idp.issuer, present=False)
        time.sleep(0.3)  # let pcscd settle before the next insertion (as tests/cps do)
