"""Pooled PostgreSQL connections: idle ones are checked before use, busy ones are not.

Against the PostgreSQL server of the machine (IDP_TEST_DATABASE_URL, or the default
local one); skipped without it, except under CI=true where it is an error.
"""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import create_engine, exc, text

from idp.db_pool import ping_idle_connections

SERVER = os.environ.get("IDP_TEST_DATABASE_URL") or \
    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def admin():
    engine = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    try:
        engine.connect().close()
    except exc.OperationalError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run this test: no PostgreSQL at {SERVER}: {error}")
        pytest.skip(f"no PostgreSQL at {SERVER}")
    yield engine
    engine.dispose()


def _pool_of_one(idle_seconds: float):
    engine = create_engine(SERVER, pool_size=1, max_overflow=0)
    ping_idle_connections(engine, idle_seconds)
    return engine


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _kill(admin, pid: int) -> None:
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()


def test_an_idle_connection_killed_by_the_server_is_replaced_unseen(admin):
    engine = _pool_of_one(idle_seconds=0.2)
    first = _backend_pid(engine)
    _kill(admin, first)
    time.sleep(0.3)
    assert _backend_pid(engine) != first  # no error: the ping found it dead
    engine.dispose()


def test_a_busy_connection_is_not_pinged_and_the_pool_recovers_after_one_failure(admin):
    engine = _pool_of_one(idle_seconds=60)
    first = _backend_pid(engine)
    _kill(admin, first)
    # Used a moment ago, so not checked: this request fails (closed), as one in flight would.
    with pytest.raises(exc.OperationalError), engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert _backend_pid(engine) != first  # the next one gets a fresh connection
    engine.dispose()
