"""Processes of a benchmark run: a private Redis, a throwaway PostgreSQL database, CPU accounting."""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import psycopg

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORES = len(os.sched_getaffinity(0))


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until ``url`` answers 200; fail early when ``process`` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    """Terminate a server we started (its own process group), then kill it if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


class PrivateRedis:
    """A redis-server on a free loopback port for one run, without persistence, never evicting."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--maxmemory-policy", "noeviction", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def url(self, db: int) -> str:
        """The URL of database number ``db``."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def version(self) -> str:
        """The server's version."""
        out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
        return out.stdout.split()[2].removeprefix("v=")

    def close(self) -> None:
        """Stop the server."""
        stop(self.process)


class ScratchDatabase:
    """A fresh PostgreSQL database next to ``server_url``, dropped by :meth:`close`."""

    def __init__(self, server_url: str) -> None:
        from sqlalchemy.engine import make_url

        base = make_url(server_url)
        self.name = f"idp_bench_{secrets.token_hex(4)}"
        self._admin = base.set(drivername="postgresql", database="postgres").render_as_string(
            hide_password=False)
        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
            self.server_version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
        self.url = base.set(drivername="postgresql+psycopg", database=self.name).render_as_string(
            hide_password=False)

    def close(self) -> None:
        """Drop the database, ending any connection a killed server left behind."""
        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def load_generator_cpu() -> float:
    """CPU seconds used so far by the load generators: this process (the Python driver of
    the login flow) and its finished children (autocannon runs)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _stat(pid: str) -> tuple[str, int, float] | None:
    """(command name, parent pid, CPU seconds) of a process, None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _processes() -> dict[int, tuple[str, int, float]]:
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(entry)
            if stat:
                table[int(entry)] = stat
    return table


def cpu_seconds(root_pids: list[int], names: tuple[str, ...] = ()) -> float:
    """CPU time of processes ``root_pids`` and their descendants, plus every process named ``names``."""
    table = _processes()
    children: dict[int, list[int]] = {}
    for pid, (_, ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    seen, todo = set(), list(root_pids)
    while todo:
        pid = todo.pop()
        if pid in table and pid not in seen:
            seen.add(pid)
            todo.extend(children.get(pid, []))
    seen.update(pid for pid, (name, _, _) in table.items() if name in names)
    return sum(table[pid][2] for pid in seen)
