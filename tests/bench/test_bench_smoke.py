"""The benchmark's smoke mode: every scenario against both servers, tiny counts, no failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench_support import postgres_server_url, require_programs

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_mode_runs_every_scenario_on_both_servers_without_errors(tmp_path):
    require_programs("node", "npm", "redis-server")
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--database-url", postgres_server_url(),
         "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads(out.read_text())
    expected = {"discovery", "jwks", "token_code", "token_refresh", "userinfo", "introspection",
                "login", "token_code_c50"}
    assert set(results["scenarios"]) == expected
    for name, entry in results["scenarios"].items():
        for side in ("ours", "peer"):
            (run,) = entry[side]
            assert run["errors"] == 0, (name, side, run)
            assert run["requests"] == entry["amount"], (name, side, run)
            # CPU time is counted in clock ticks (10 ms): a few dozen fast GETs may cost less
            # than one, and then there is no per-core figure rather than a wrong one.
            cpu = run["cpu_app_s"] + run["cpu_store_s"]
            if cpu > 0:
                assert run["per_core"] == pytest.approx(run["requests"] / cpu), (name, side, run)
            else:
                assert run["per_core"] is None, (name, side, run)
        # Our token and login paths sign or hash: always more than a tick.
        if name in ("token_code", "token_refresh", "login"):
            assert entry["ours"][0]["per_core"] > 0, (name, entry["ours"])
    assert set(results["scaling"]) == {"ours", "peer"}
    for side, by_workers in results["scaling"].items():
        for runs in by_workers.values():
            # The machine was never idle during a measurement, nor busier than all its cores.
            assert all(0 < run["machine_busy"] <= 1 for run in runs), (side, runs)
    for side in ("ours", "peer"):
        assert results["bounds"][side]["argon2_per_core"] > 0
        assert results["bounds"][side]["rs256_per_core"] > 0
    # The report renders from these figures (the real one comes from a full run).
    from bench import report

    markdown = report.markdown(results)
    assert "| Full login flow" in markdown
    assert "worker(s) req/s (machine busy)" in markdown
    report.chart(results, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 10_000
