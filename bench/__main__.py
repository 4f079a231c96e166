"""``python -m bench``: measure idp and node-oidc-provider side by side; write docs/benchmarks.md.

Starts everything on loopback in a throwaway directory (a private Redis, a fresh
PostgreSQL database, node-oidc-provider installed with npm ci), runs every scenario
against both servers in the same run, then stops and removes it all. Bounded: each
measurement stops after its number of requests or ``--max-seconds``, whichever first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench import bounds, ours, peer, report
from bench.scenarios import PREP_THREADS, make_tokens, measure, scenarios
from bench.services import CORES, PrivateRedis, ScratchDatabase

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="every scenario once with tiny counts (CI); writes no report")
    parser.add_argument("--runs", type=int, help="runs per scenario (default 3, smoke 1)")
    parser.add_argument("--users", type=int, help="concurrent users of the login flow "
                        "(default 8, smoke 2)")
    parser.add_argument("--max-seconds", type=float, help="time limit of one measurement "
                        "(default 60, smoke 20)")
    parser.add_argument("--database-url", default=os.environ.get("IDP_BENCH_DATABASE_URL",
                                                                 DEFAULT_DATABASE),
                        help="PostgreSQL server where a scratch database is created "
                        "(default: $IDP_BENCH_DATABASE_URL or %(default)s)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs",
                        help="directory of benchmarks.md and benchmarks.png")
    parser.add_argument("--json", type=Path, help="also write the raw results there")
    args = parser.parse_args(argv)
    args.runs = args.runs or (1 if args.smoke else 3)
    args.users = args.users or (2 if args.smoke else 8)
    args.max_seconds = args.max_seconds or (20.0 if args.smoke else 60.0)
    return args


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args) -> dict:
    """Run the whole benchmark; return the raw results."""
    from idp.config import Settings

    workdir = Path(tempfile.mkdtemp(prefix="idp-bench-"))
    results: dict = {"scenarios": {}, "scaling": {}, "smoke": args.smoke, "runs": args.runs,
                     "users": args.users, "cores": CORES}
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, True)
        log = workdir / "servers.log"
        store = PrivateRedis(workdir)
        stack.callback(store.close)
        database = ScratchDatabase(args.database_url)
        stack.callback(database.close)
        _say("installing node-oidc-provider (npm ci)")
        node_dir = peer.install(workdir)
        env = ours.environment(workdir, database.url, store.url(0))
        settings = Settings.from_env(env)
        argon2 = {"m": settings.argon2_memory_kib, "t": settings.argon2_time_cost,
                  "p": settings.argon2_parallelism}
        _say("preparing both servers")
        ours.migrate(env)
        accounts = max(args.users, PREP_THREADS)
        our_target = ours.seed(env, accounts)
        peer_accounts = peer.seed(store.url(1), accounts, argon2)

        def start(which: str, workers: int):
            if which == "ours":
                server = ours.OurServer(env, our_target, workers, log)
            else:
                server = peer.PeerServer(node_dir, store.url(1), workers, settings, argon2,
                                         peer_accounts, log)
            stack.callback(server.close)
            make_tokens(server.target, 2 * args.users)  # warm up pools and caches
            return server

        try:
            servers = [start("ours", CORES), start("peer", CORES)]
            store_of = {"ours": ([store.process.pid], ("postgres",)),
                        "peer": ([store.process.pid], ())}
            for scenario in scenarios(args.smoke, args.users):
                runs = results["scenarios"].setdefault(scenario.name, {
                    "title": scenario.title, "connections": scenario.connections,
                    "amount": scenario.amount, "ours": [], "peer": []})
                for i in range(args.runs):
                    for key, server in zip(("ours", "peer"), servers, strict=True):
                        _say(f"{scenario.name} run {i + 1}/{args.runs}: {server.target.name}")
                        pids, names = store_of[key]
                        runs[key].append(measure(scenario, server, node_dir, pids, names,
                                                 args.max_seconds))
            for server in servers:
                server.close()
            # Throughput against workers, token endpoint: one server at a time on the machine.
            token = next(s for s in scenarios(args.smoke, args.users) if s.name == "token_code")
            for key in ("ours", "peer"):
                for workers in sorted({1, CORES}):
                    _say(f"scaling: {key} with {workers} worker(s)")
                    server = start(key, workers)
                    pids, names = store_of[key]
                    results["scaling"].setdefault(key, {})[str(workers)] = [
                        measure(token, server, node_dir, pids, names, args.max_seconds)
                        for _ in range(args.runs)]
                    server.close()
        except Exception:
            _say(f"--- server log ---\n{log.read_text(errors='replace')[-4000:]}")
            raise
        _say("reference bounds")
        seconds = 1.0 if args.smoke else 5.0
        results["bounds"] = {"ours": bounds.python_bounds(argon2, seconds),
                             "peer": bounds.node_bounds(node_dir, argon2, seconds)}
        results["settings"] = {"argon2": argon2, "workers": CORES,
                               "threads": ours.gunicorn_threads(),
                               "code_ttl": settings.code_ttl}
        results["versions"] = {**report.python_versions(), **peer.versions(node_dir),
                               "postgresql": database.server_version,
                               "redis": store.version()}
    return results


def main(argv=None) -> int:
    """Entry point; exit status 1 when any request failed."""
    args = _arguments(argv)
    results = run(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    errors = report.error_count(results)
    if not args.smoke:
        report.write(results, args.out)
        _say(f"wrote {args.out / 'benchmarks.md'} and {args.out / 'benchmarks.png'}")
    print(report.summary(results))
    if errors:
        _say(f"{errors} failed requests")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
