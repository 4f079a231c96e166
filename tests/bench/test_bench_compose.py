"""compose.yaml is valid for Debian's docker-compose and describes the production setup."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bench_support import require_programs

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"IDP_SECRET_KEY": "s" * 64, "IDP_KEY_ENCRYPTION_KEY": "k" * 64,
           "IDP_DB_PASSWORD": "db-password", "RP_CLIENT_SECRET": "rp-secret",
           "RP_SECRET_KEY": "rp-cookies"}


def _config(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(["docker-compose", "-f", "compose.yaml", "config", *args], cwd=ROOT,
                          env={**clean, **env}, capture_output=True, text=True, timeout=60)


def test_compose_file_is_valid_with_every_service():
    require_programs("docker-compose")
    proc = _config(SECRETS, "--services")
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) == {"db", "redis", "migrate", "idp", "nginx", "rp", "mail"}


def test_compose_settings_of_the_production_setup():
    require_programs("docker-compose")
    proc = _config(SECRETS)
    assert proc.returncode == 0, proc.stderr
    config = proc.stdout
    assert "--maxmemory-policy" in config and "noeviction" in config
    assert "IDP_ENV: production" in config
    assert "postgresql+psycopg://idp:db-password@db:5432/idp" in config
    assert "deploy/nginx/idp-cps.conf" in config
    assert "gunicorn.conf.py" in (ROOT / "Dockerfile").read_text()


def test_compose_refuses_to_start_without_the_secrets():
    require_programs("docker-compose")
    proc = _config({})
    assert proc.returncode != 0
    assert "IDP_SECRET_KEY" in proc.stderr or "IDP_DB_PASSWORD" in proc.stderr
