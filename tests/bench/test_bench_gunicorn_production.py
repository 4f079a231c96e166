"""The production path without containers: gunicorn with deploy/gunicorn.conf.py, PostgreSQL, Redis."""

from __future__ import annotations

from pathlib import Path

import requests
from bench_support import postgres_server_url, require_programs

from bench import ours
from bench.flows import full_login
from bench.scenarios import make_tokens
from bench.services import PrivateRedis, ScratchDatabase


def _listening_sockets(port: int) -> int:
    """How many TCP sockets listen on 127.0.0.1:``port`` (/proc/net/tcp, state 0A)."""
    local = f"0100007F:{port:04X}"
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1] == local and row[3] == "0A")


def test_gunicorn_serves_discovery_jwks_login_and_refresh(tmp_path):
    require_programs("redis-server")
    database = ScratchDatabase(postgres_server_url())
    store = PrivateRedis(tmp_path)
    server = None
    try:
        env = ours.environment(tmp_path, database.url, store.url(0))
        ours.migrate(env)
        target = ours.seed(env, users=1)
        server = ours.OurServer(env, target, workers=2, log=tmp_path / "gunicorn.log")
        # One listening socket per worker (reuse_port): the kernel spreads connections.
        assert _listening_sockets(server.port) == 2

        discovery = requests.get(server.url + "/.well-known/openid-configuration", timeout=10)
        assert discovery.status_code == 200
        assert discovery.json()["issuer"] == ours.ISSUER
        assert "max-age" in discovery.headers["Cache-Control"]
        jwks = requests.get(server.target.endpoints["jwks_uri"], timeout=10)
        assert jwks.status_code == 200 and jwks.json()["keys"]
        assert "max-age" in jwks.headers["Cache-Control"]

        claims = full_login(server.target, target.accounts[0])
        assert claims["email"] == target.accounts[0][0]

        (tokens,) = make_tokens(server.target, 1)
        refreshed = requests.post(server.target.endpoints["token_endpoint"], timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            headers={"Authorization": f"Basic {server.target.basic}"})
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["refresh_token"] != tokens["refresh_token"]
    finally:
        if server is not None:
            server.close()
        store.close()
        database.close()
