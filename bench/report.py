"""Figures of a run: medians, ours/peer ratios, docs/benchmarks.md and its chart."""

from __future__ import annotations

import platform
import statistics
import time
from importlib.metadata import version
from pathlib import Path

ANALYSIS = Path(__file__).resolve().parent / "analysis.md"
FIGURES = ("rps", "per_core", "p50_ms", "p99_ms")


def python_versions() -> dict[str, str]:
    """Versions of our side's stack."""
    out = {"python": platform.python_version()}
    for package in ("idp", "authlib", "flask", "sqlalchemy", "psycopg", "redis", "gunicorn",
                    "argon2-cffi", "cryptography"):
        out[package] = version(package)
    return out


def _median(runs: list[dict], figure: str) -> float | None:
    values = [r[figure] for r in runs if r.get(figure) is not None]
    return statistics.median(values) if values else None


def summarise(runs: list[dict]) -> dict:
    """Median of each figure over the runs, and the errors of all runs."""
    out = {f: _median(runs, f) for f in FIGURES}
    out["errors"] = sum(r["errors"] for r in runs)
    out["requests"] = sum(r["requests"] for r in runs)
    return out


def ratio(ours: float | None, peer: float | None) -> float | None:
    """ours / peer, None when a side has no figure."""
    return ours / peer if ours is not None and peer else None


def error_count(results: dict) -> int:
    """Failed requests over the whole run."""
    total = 0
    for entry in results["scenarios"].values():
        total += sum(r["errors"] for r in entry["ours"] + entry["peer"])
    for by_workers in results["scaling"].values():
        total += sum(r["errors"] for runs in by_workers.values() for r in runs)
    return total


def table(results: dict) -> list[dict]:
    """One row per scenario: both servers' medians and the ratios."""
    rows = []
    for name, entry in results["scenarios"].items():
        ours, peer = summarise(entry["ours"]), summarise(entry["peer"])
        rows.append({"name": name, "title": entry["title"], "connections": entry["connections"],
                     "ours": ours, "peer": peer,
                     "ratio": {f: ratio(ours[f], peer[f]) for f in FIGURES}})
    return rows


def _fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}".replace(",", " ")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _ceiling(busy: float | None) -> str:
    return "–" if not busy else f"{1 / busy:.2f} ×"


def _scaling(results: dict, key: str = "rps") -> dict[str, dict[str, float | None]]:
    """{server: {workers: median of ``key``}} of the workers runs."""
    return {server: {w: _median(runs, key) for w, runs in by_workers.items()}
            for server, by_workers in results["scaling"].items()}


def targets(results: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target of the issue."""
    rows = {r["name"]: r for r in table(results)}
    argon2 = results["bounds"]["ours"]["argon2_per_core"]
    login = rows["login"]
    out = [
        ("Full login per core ≥ 90 % of the Argon2 bound",
         f"{login['ours']['per_core'] / argon2:.0%}", login["ours"]["per_core"] >= 0.9 * argon2),
        ("Full login per core ≥ 1.0 × node-oidc-provider",
         f"{login['ratio']['per_core']:.2f} ×", login["ratio"]["per_core"] >= 1.0)]
    for name in ("token_code", "token_refresh", "userinfo"):
        r = rows[name]
        out.append((f"{r['title']} per core ≥ 1.0 × node-oidc-provider",
                    f"{r['ratio']['per_core']:.2f} ×", r["ratio"]["per_core"] >= 1.0))
    p99 = rows["token_code_c50"]["ours"]["p99_ms"]
    out.append(("Token endpoint p99 at 50 clients ≤ 50 ms", f"{p99:.0f} ms", p99 <= 50))
    scaling = _scaling(results)["ours"]
    workers = str(results["cores"])
    if workers != "1":
        gain = scaling[workers] / scaling["1"]
        out.append((f"Token endpoint, {workers} workers ≥ 1.7 × 1 worker", f"{gain:.2f} ×",
                    gain >= 1.7))
    return out


def summary(results: dict) -> str:
    """A plain-text table for the console."""
    lines = [f"{'scenario':<16}{'idp r/s':>9}{'peer r/s':>9}{'ratio':>7}{'/core':>7}"
             f"{'p50 idp':>9}{'p50 peer':>9}{'p99 idp':>9}{'p99 peer':>9}{'errors':>7}"]
    for r in table(results):
        o, p, q = r["ours"], r["peer"], r["ratio"]
        lines.append(f"{r['name']:<16}{_fmt(o['rps']):>9}{_fmt(p['rps']):>9}"
                     f"{_fmt(q['rps'], 2):>7}{_fmt(q['per_core'], 2):>7}{_fmt(o['p50_ms'], 1):>9}"
                     f"{_fmt(p['p50_ms'], 1):>9}{_fmt(o['p99_ms'], 1):>9}{_fmt(p['p99_ms'], 1):>9}"
                     f"{o['errors'] + p['errors']:>7}")
    for key, by_workers in _scaling(results).items():
        lines.append(f"scaling {key}: " + ", ".join(f"{w} worker(s) {_fmt(v)} r/s"
                                                     for w, v in by_workers.items()))
    for key, b in results.get("bounds", {}).items():
        lines.append(f"bounds {key}: Argon2 {b['argon2_per_core']:.1f}/s/core, "
                     f"RS256 {b['rs256_per_core']:.0f}/s/core")
    return "\n".join(lines)


def _machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{model}, {platform.system()} {platform.release()}"


def markdown(results: dict) -> str:
    """docs/benchmarks.md."""
    v, s = results["versions"], results["settings"]
    b_ours, b_peer = results["bounds"]["ours"], results["bounds"]["peer"]
    out = [
        "# Benchmarks: idp and node-oidc-provider",
        "",
        f"Generated by `python -m bench` on {time.strftime('%Y-%m-%d')} from one run; do not "
        "edit by hand, run the command again (README, *Benchmarks*). Chart: "
        "[benchmarks.png](benchmarks.png).",
        "",
        "## Machine, versions, settings",
        "",
        f"- Machine: {results['cores']} cores, {_machine()}. Both servers, PostgreSQL, Redis and "
        "the load generators share these cores, on loopback.",
        f"- idp {v['idp']}: Python {v['python']}, Authlib {v['authlib']}, Flask {v['flask']}, "
        f"SQLAlchemy {v['sqlalchemy']}, psycopg {v['psycopg']}, gunicorn {v['gunicorn']} "
        f"({s['workers']} workers × {s['threads']} threads, `deploy/gunicorn.conf.py`, gthread, "
        "a listening socket per worker), "
        f"argon2-cffi {v['argon2-cffi']}, cryptography {v['cryptography']}; "
        f"PostgreSQL {v['postgresql']} (stock settings, synchronous commit), Redis {v['redis']}.",
        f"- Peer: node-oidc-provider {v['oidc-provider']} on Node.js {v['node'].lstrip('v')}, "
        f"{s['workers']} processes (`node:cluster`), every model in Redis through the library's "
        f"Redis adapter pattern (ioredis {v['ioredis']}), npm argon2 {v['argon2']}.",
        "- Both: one confidential client with `client_secret_basic`; authorization code with "
        "PKCE S256; refresh tokens rotated on every use; RS256 ID tokens "
        "(3072-bit keys); opaque access tokens; a login form verifying an Argon2id hash with "
        f"m = {s['argon2']['m']} KiB, t = {s['argon2']['t']}, p = {s['argon2']['p']}; "
        "first-party client (no consent page). Codes live "
        f"{s['code_ttl']} s on both sides so that they can be made before a measurement.",
        f"- Load: autocannon {v['autocannon']} (the same for both) for single requests; the "
        "Python driver of `bench/flows.py` for the login flow (a new browser per flow: "
        "authorize → login form with password → code → token → UserInfo). Fresh codes are "
        "made before each measurement by logged-in browsers; refresh runs chain each rotated "
        "token into the next request.",
        f"- {results['runs']} runs per scenario, servers alternating within each run; figures "
        "are medians over the runs. **CPU per core**: requests per CPU-second used by the "
        "server processes *and* their store (PostgreSQL + Redis for idp, Redis for the peer), "
        "which removes the load generator's share of the machine.",
        "",
        "## Results",
        "",
        "Ratios are **idp / node-oidc-provider** from the same run: above 1 is better for "
        "throughput, below 1 is better for latency.",
        "",
        "| Scenario | conc. | idp req/s | peer req/s | ratio | idp req/s/core | peer req/s/core "
        "| ratio | p50 ms idp / peer | p99 ms idp / peer | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in table(results):
        o, p, q = r["ours"], r["peer"], r["ratio"]
        out.append(
            f"| {r['title']} | {r['connections']} | {_fmt(o['rps'])} | {_fmt(p['rps'])} "
            f"| **{_fmt(q['rps'], 2)}** | {_fmt(o['per_core'])} | {_fmt(p['per_core'])} "
            f"| **{_fmt(q['per_core'], 2)}** "
            f"| {_fmt(o['p50_ms'], 1)} / {_fmt(p['p50_ms'], 1)} ({_fmt(q['p50_ms'], 2)}) "
            f"| {_fmt(o['p99_ms'], 1)} / {_fmt(p['p99_ms'], 1)} ({_fmt(q['p99_ms'], 2)}) "
            f"| {o['errors'] + p['errors']} |")
    out += ["", "Login flow figures are flows per second (5 HTTP requests and one Argon2 "
            "verification each).", "", "### Reference bounds (per core)", "",
            "| Bound | our stack (Python) | peer's stack (Node.js) |", "| --- | ---: | ---: |",
            f"| Argon2id verifications/s (m = {s['argon2']['m']} KiB, t = {s['argon2']['t']}, "
            f"p = {s['argon2']['p']}) | {b_ours['argon2_per_core']:.1f} "
            f"| {b_peer['argon2_per_core']:.1f} |",
            f"| RS256 signatures/s (3072-bit) | {b_ours['rs256_per_core']:.0f} "
            f"| {b_peer['rs256_per_core']:.0f} |", "",
            "Every password login costs one Argon2 verification, every code exchange and "
            "refresh one RS256 signature (the ID token): these are the ceilings of those paths "
            "per core.", "", "### Workers (token endpoint, authorization_code)", "",
            "| Server | " + " | ".join(f"{w} worker(s) req/s (machine busy)" for w in
                                      results["scaling"]["ours"]) + " | gain | ceiling |",
            "| --- |" + " ---: |" * (len(results["scaling"]["ours"]) + 2)]
    busy = _scaling(results, "machine_busy")
    for key, by_workers in _scaling(results).items():
        values = list(by_workers.values())
        shares = list(busy[key].values())
        name = "idp" if key == "ours" else "node-oidc-provider"
        out.append(f"| {name} | " + " | ".join(f"{_fmt(x)} ({_pct(b)})" for x, b in
                                               zip(values, shares, strict=True))
                   + f" | {values[-1] / values[0]:.2f} × | {_ceiling(shares[0])} |")
    out += ["", "*Machine busy*: CPU time of the server, its store and the load generator over "
            "the measured seconds, as a share of all cores. *Ceiling*: the most a second "
            "worker could add if every idle cycle of the one-worker run went to requests at "
            "the same cost, 1 / (machine busy with one worker)."]
    out += ["", "## Targets", "", "| Target | Measured | Met |", "| --- | ---: | :---: |"]
    out += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets(results)]
    out += ["", ANALYSIS.read_text().strip(), ""]
    return "\n".join(out)


def chart(results: dict, path: Path) -> None:
    """docs/benchmarks.png: per-core throughput of both servers, the ratios and the bounds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = table(results)
    names = [r["title"] for r in rows]
    x = range(len(rows))
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
    width = 0.4
    left.bar([i - width / 2 for i in x], [r["ours"]["per_core"] or 0 for r in rows], width,
             label="idp")
    left.bar([i + width / 2 for i in x], [r["peer"]["per_core"] or 0 for r in rows], width,
             label="node-oidc-provider")
    bounds = results["bounds"]["ours"]
    left.axhline(bounds["argon2_per_core"], color="tab:red", linestyle="--",
                 label="Argon2 bound (logins/s/core)")
    left.axhline(bounds["rs256_per_core"], color="tab:green", linestyle=":",
                 label="RS256 bound (signatures/s/core)")
    left.set_yscale("log")
    left.set_ylabel("requests (or logins) per CPU-second")
    left.set_title("Throughput per core (median)")
    left.set_xticks(list(x), names, rotation=30, ha="right", fontsize=8)
    left.legend(fontsize=8)
    ratios = [r["ratio"]["per_core"] or 0 for r in rows]
    right.bar(list(x), ratios, color=["tab:blue" if v >= 1 else "tab:orange" for v in ratios])
    right.axhline(1.0, color="black", linewidth=1)
    right.set_title("idp / node-oidc-provider, throughput per core")
    right.set_xticks(list(x), names, rotation=30, ha="right", fontsize=8)
    for i, v in zip(x, ratios, strict=True):
        right.annotate(f"{v:.2f}", (i, v), ha="center", va="bottom", fontsize=8)
    fig.suptitle(f"idp vs node-oidc-provider, {results['cores']} cores, same run")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict, out: Path) -> None:
    """Write benchmarks.md and benchmarks.png into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.md").write_text(markdown(results))
    chart(results, out / "benchmarks.png")
