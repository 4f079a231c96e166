"""Shared by the bench tests: where PostgreSQL is, and skipping outside CI only."""

from __future__ import annotations

import os
import shutil

import psycopg
import pytest
from sqlalchemy.engine import make_url

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_server_url() -> str:
    """IDP_TEST_DATABASE_URL, else the loopback server; skipped (an error in CI) when down."""
    url = os.environ.get("IDP_TEST_DATABASE_URL") or DEFAULT_SERVER
    try:
        admin = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        psycopg.connect(admin, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        require(False, f"no PostgreSQL at {url}: {exc}")
    return url


def require(condition: bool, reason: str) -> None:
    """Skip when ``condition`` fails, except in CI where that is an error."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def require_programs(*names: str) -> None:
    """The programs the test runs."""
    for name in names:
        require(shutil.which(name) is not None, f"{name} is not installed")
