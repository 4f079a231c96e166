"""The peer: node-oidc-provider installed from npm into a throwaway directory and configured like idp."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from pathlib import Path

import redis
from argon2 import PasswordHasher, Type
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from bench.flows import REDIRECT_URI, Target
from bench.ours import PASSWORD
from bench.services import free_port, stop, wait_http

NODE_DIR = Path(__file__).resolve().parent / "node"
CLIENT_ID = "bench-rp"


def install(workdir: Path) -> Path:
    """``npm ci`` of bench/node (lock file committed) into ``workdir/node``; return that directory."""
    target = workdir / "node"
    target.mkdir()
    for path in [NODE_DIR / "package.json", NODE_DIR / "package-lock.json",
                 *NODE_DIR.glob("*.mjs")]:
        shutil.copy(path, target / path.name)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=target,
                   check=True, capture_output=True)
    return target


def versions(node_dir: Path) -> dict[str, str]:
    """Installed versions of node and of the npm packages that matter."""
    out = {"node": subprocess.run(["node", "--version"], capture_output=True,
                                  text=True).stdout.strip()}
    for package in ("oidc-provider", "argon2", "ioredis", "autocannon"):
        meta = json.loads((node_dir / "node_modules" / package / "package.json").read_text())
        out[package] = meta["version"]
    return out


def _hasher(settings: dict[str, int]) -> PasswordHasher:
    return PasswordHasher(time_cost=settings["t"], memory_cost=settings["m"],
                          parallelism=settings["p"], type=Type.ID)


def _signing_jwk() -> dict:
    """A fresh RSA key of idp's size (idp/signing/material.py), as a private JWK."""
    from idp.signing.material import RSA_BITS

    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    jwk = RSAKey.import_key(key).as_dict(private=True)
    return {**jwk, "kid": secrets.token_urlsafe(8), "alg": "RS256", "use": "sig"}


def seed(redis_url: str, users: int, argon2: dict[str, int]) -> list[tuple[str, str]]:
    """Store ``users`` accounts with Argon2id hashes of idp's parameters; return credentials."""
    store = redis.Redis.from_url(redis_url)
    hasher = _hasher(argon2)
    accounts = []
    for i in range(users):
        email = f"ps{i}@bench.test"
        record = json.dumps({"sub": secrets.token_urlsafe(16), "hash": hasher.hash(PASSWORD),
                             "claims": {"given_name": "KIT", "family_name": f"DOC{i:07d}",
                                        "email": email, "email_verified": True}})
        sub = json.loads(record)["sub"]
        store.set(f"oidc:account:{email}", record)
        store.set(f"oidc:account:sub:{sub}", record)
        accounts.append((email, PASSWORD))
    store.close()
    return accounts


class PeerServer:
    """node-oidc-provider under node:cluster with ``workers`` processes."""

    def __init__(self, node_dir: Path, redis_url: str, workers: int, settings, argon2: dict,
                 accounts: list[tuple[str, str]], log: Path) -> None:
        self.port = free_port()
        self.workers = workers
        issuer = f"http://127.0.0.1:{self.port}"
        self.target = Target("node-oidc-provider", issuer, issuer, CLIENT_ID,
                             secrets.token_urlsafe(32), accounts)
        config = {
            "issuer": issuer, "port": self.port, "workers": workers, "redisUrl": redis_url,
            "client": {"id": CLIENT_ID, "secret": self.target.client_secret,
                       "redirectUri": REDIRECT_URI},
            "jwk": _signing_jwk(), "cookieKeys": [secrets.token_hex(32)],
            "dummyHash": _hasher(argon2).hash(secrets.token_hex(16)),
            "ttl": {"code": settings.code_ttl, "accessToken": settings.access_token_ttl,
                    "idToken": settings.id_token_ttl, "refreshIdle": settings.refresh_idle_ttl,
                    "refreshAbsolute": settings.refresh_absolute_ttl,
                    "session": settings.session_absolute_ttl},
        }
        config_path = node_dir / f"provider-{self.port}.json"
        config_path.write_text(json.dumps(config))
        with open(log, "ab") as out:
            self.process = subprocess.Popen(["node", "provider.mjs", str(config_path)],
                                            cwd=node_dir, stdout=out, stderr=out,
                                            start_new_session=True)
        wait_http(issuer + "/.well-known/openid-configuration", self.process)
        self.target.discover()

    @property
    def url(self) -> str:
        """The loopback address."""
        return self.target.base_url

    def close(self) -> None:
        """Stop the cluster."""
        stop(self.process)
