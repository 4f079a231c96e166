"""The scenarios, the material they consume (codes, tokens) and one measured run of each."""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.flows import REDIRECT_URI, Browser, FlowError, Target, exchange, full_login
from bench.services import CORES, cpu_seconds, load_generator_cpu

# Threads of the Python driver preparing codes and tokens (not measured); each needs an account.
PREP_THREADS = 8


@dataclass(frozen=True)
class Scenario:
    """One measured workload: ``kind`` says which request (bench/node/load.mjs) or ``login``."""

    name: str
    title: str
    kind: str
    endpoint: str
    connections: int
    amount: int


def scenarios(smoke: bool, users: int) -> list[Scenario]:
    """Every scenario, with tiny counts in smoke mode."""
    def n(full: int, tiny: int) -> int:
        return tiny if smoke else full

    c = n(16, 4)
    return [
        Scenario("discovery", "Discovery GET", "get", "discovery", c, n(5000, 40)),
        Scenario("jwks", "JWKS GET", "get", "jwks_uri", c, n(5000, 40)),
        Scenario("token_code", "Token: authorization_code", "code", "token_endpoint", c,
                 n(600, 12)),
        Scenario("token_refresh", "Token: refresh_token (rotation)", "refresh", "token_endpoint",
                 c, n(600, 12)),
        Scenario("userinfo", "UserInfo", "bearer", "userinfo_endpoint", c, n(3000, 40)),
        Scenario("introspection", "Introspection", "introspect", "introspection_endpoint", c,
                 n(3000, 40)),
        Scenario("login", f"Full login flow, {users} users", "login", "", users, n(96, 4)),
        Scenario("token_code_c50", "Token: authorization_code, 50 clients", "code",
                 "token_endpoint", n(50, 8), n(800, 16)),
    ]


def _parallel(count: int, threads: int, work) -> list:
    """``work(i)`` for i in range(count) on ``threads`` threads, in order."""
    with ThreadPoolExecutor(max(1, min(threads, count))) as pool:
        return list(pool.map(work, range(count)))


def make_codes(target: Target, count: int) -> list[dict]:
    """Fresh codes: each thread logs in once, then authorizes again on its session."""
    local = threading.local()
    browsers = []
    lock = threading.Lock()

    def one(i: int) -> dict:
        if not hasattr(local, "browser"):
            # One account per thread: idp refuses concurrent password attempts on one account
            # beyond its lockout threshold (idp/accounts/lockout.py).
            with lock:
                local.browser = Browser(target)
                browsers.append(local.browser)
                credentials = target.accounts[len(browsers) - 1]
            code, verifier = local.browser.authorize(credentials)
        else:
            code, verifier = local.browser.authorize()
        return {"code": code, "verifier": verifier, "redirectUri": REDIRECT_URI}

    try:
        return _parallel(count, PREP_THREADS, one)
    finally:
        for browser in browsers:
            browser.close()


def make_tokens(target: Target, count: int) -> list[dict]:
    """``count`` token responses, each from its own code."""
    codes = make_codes(target, count)
    http = requests.Session()
    try:
        return _parallel(count, PREP_THREADS,
                         lambda i: exchange(http, target, codes[i]["code"], codes[i]["verifier"]))
    finally:
        http.close()


def material(scenario: Scenario, target: Target) -> list:
    """What one run of ``scenario`` consumes, made before the measurement starts."""
    if scenario.kind == "code":
        return make_codes(target, scenario.amount)
    if scenario.kind == "refresh":
        return [t["refresh_token"] for t in make_tokens(target, 2 * scenario.connections)]
    if scenario.kind in ("bearer", "introspect"):
        return [t["access_token"] for t in make_tokens(target, scenario.connections)]
    return []


def _url(scenario: Scenario, target: Target) -> str:
    if scenario.endpoint == "discovery":
        return target.base_url + "/.well-known/openid-configuration"
    return target.endpoints[scenario.endpoint]


def _autocannon(scenario: Scenario, target: Target, node_dir: Path, items: list,
                max_seconds: float) -> dict:
    job = {"url": _url(scenario, target), "kind": scenario.kind,
           "connections": scenario.connections, "amount": scenario.amount,
           "maxSeconds": max_seconds, "basic": target.basic, "material": items}
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=node_dir) as fh:
        json.dump(job, fh)
        fh.flush()
        out = subprocess.run(["node", "load.mjs", fh.name], cwd=node_dir, capture_output=True,
                             text=True, timeout=max_seconds + 60, check=True)
    return json.loads(out.stdout)


def _login_flows(scenario: Scenario, target: Target, max_seconds: float) -> dict:
    """``amount`` full logins by ``connections`` users at once (one account each, a new browser per flow)."""
    lock = threading.Lock()
    started = {"n": 0}
    latencies, errors = [], []
    deadline = time.monotonic() + max_seconds

    def user(i: int) -> None:
        credentials = target.accounts[i % len(target.accounts)]
        while time.monotonic() < deadline:
            with lock:
                if started["n"] >= scenario.amount:
                    return
                started["n"] += 1
            t0 = time.perf_counter()
            try:
                full_login(target, credentials)
                latencies.append((time.perf_counter() - t0) * 1000)
            except (FlowError, requests.RequestException) as exc:
                errors.append(str(exc))

    t0 = time.perf_counter()
    _parallel(scenario.connections, scenario.connections, user)
    seconds = time.perf_counter() - t0
    latencies.sort()
    done = len(latencies) + len(errors)
    return {"requests": done, "seconds": seconds, "rps": done / seconds,
            "p50_ms": statistics.median(latencies) if latencies else None,
            "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
            if latencies else None,
            "errors": len(errors), "error_sample": errors[:3]}


def measure(scenario: Scenario, server, node_dir: Path, store_pids: list[int],
            store_names: tuple[str, ...], max_seconds: float) -> dict:
    """Prepare, then run ``scenario`` once against ``server``; figures and CPU seconds used."""
    target = server.target
    items = [] if scenario.kind == "login" else material(scenario, target)
    app0 = cpu_seconds([server.process.pid])
    store0 = cpu_seconds(store_pids, store_names)
    load0 = load_generator_cpu()
    if scenario.kind == "login":
        result = _login_flows(scenario, target, max_seconds)
    else:
        result = _autocannon(scenario, target, node_dir, items, max_seconds)
    result["cpu_app_s"] = cpu_seconds([server.process.pid]) - app0
    result["cpu_store_s"] = cpu_seconds(store_pids, store_names) - store0
    result["cpu_load_s"] = load_generator_cpu() - load0
    cpu = result["cpu_app_s"] + result["cpu_store_s"]
    result["per_core"] = result["requests"] / cpu if cpu > 0 else None
    # Share of the machine's cores that the server, its store and the load generator kept
    # busy during the measured seconds: how much room was left for more workers.
    result["machine_busy"] = min(1.0, (cpu + result["cpu_load_s"]) / (CORES * result["seconds"]))
    return result
