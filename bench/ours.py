"""Our IdP for the benchmark: gunicorn with deploy/gunicorn.conf.py, PostgreSQL and Redis."""

from __future__ import annotations

import dataclasses
import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

from bench.flows import REDIRECT_URI, Target
from bench.services import free_port, stop, wait_http

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
ISSUER = "https://idp.bench.test"
PASSWORD = "Xq7#vLm2!pZ-bench"
CLIENT_ID = "bench-rp"


def environment(workdir: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """Production settings (idp/config.py) on loopback; codes live long enough to be pre-made."""
    return {
        **os.environ,
        "IDP_ENV": "production",
        "IDP_ISSUER": ISSUER,
        "IDP_DATA_DIR": str(workdir / "data"),
        "IDP_KEYS_DIR": str(workdir / "keys"),
        "IDP_DATABASE_URL": database_url,
        "IDP_REDIS_URL": redis_url,
        "IDP_SECRET_KEY": secrets.token_hex(32),
        "IDP_KEY_ENCRYPTION_KEY": secrets.token_hex(32),
        "IDP_CODE_TTL": "600",
    }


def migrate(env: dict[str, str]) -> None:
    """Run ``idp migrate`` (schema and first signing keys)."""
    subprocess.run([sys.executable, "-m", "idp", "migrate"], env=env, check=True,
                   capture_output=True, cwd=ROOT)


def seed(env: dict[str, str], users: int) -> Target:
    """Register the confidential client and ``users`` professionals; return the target."""
    from idp import create_app
    from idp.accounts.enrolment import create_account_checked
    from idp.extensions import db
    from idp.oauth.registration import register_client

    app = create_app({k: v for k, v in env.items() if k.startswith("IDP_")})
    accounts = []
    with app.app_context():
        _, secret = register_client(
            name="bench", redirect_uris=[REDIRECT_URI], post_logout_redirect_uris=[],
            scope="openid profile email offline_access", auth_method="client_secret_basic",
            first_party=True, client_id=CLIENT_ID)
        for i in range(users):
            email = f"ps{i}@bench.test"
            create_account_checked("ps", identifiers={}, email=email, password=PASSWORD,
                                   given_name="KIT", family_name=f"DOC{i:07d}",
                                   profession_code="10")
            accounts.append((email, PASSWORD))
        db.session.remove()
        db.engine.dispose()
    return Target("idp", "", ISSUER, CLIENT_ID, secret, accounts)


class OurServer:
    """gunicorn serving idp.wsgi:app with ``workers`` workers (threads from the config file)."""

    def __init__(self, env: dict[str, str], target: Target, workers: int, log: Path) -> None:
        self.port = free_port()
        self.workers = workers
        run_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                   "WEB_CONCURRENCY": str(workers)}
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "idp.wsgi:app"],
                env=run_env, cwd=ROOT, stdout=out, stderr=out, start_new_session=True)
        wait_http(self.url + "/.well-known/openid-configuration", self.process)
        self.target = dataclasses.replace(target, base_url=self.url, endpoints={})
        self.target.discover()

    @property
    def url(self) -> str:
        """The loopback address."""
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        """Stop gunicorn."""
        stop(self.process)


def gunicorn_threads() -> int:
    """Threads per worker that deploy/gunicorn.conf.py sets in this environment."""
    return runpy.run_path(str(GUNICORN_CONF))["threads"]
