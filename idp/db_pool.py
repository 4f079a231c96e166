"""Database connections: check a pooled connection before use only when it sat idle.

SQLAlchemy's ``pool_pre_ping`` sends a ``SELECT 1`` before every request: one more
round trip each time (16 % of a UserInfo request, 10 % of a refresh, measured). A
connection used a moment ago is alive unless the server went away in that moment; the
requests in flight then fail closed, and SQLAlchemy's disconnect handling discards every
older connection of the pool. A connection that sat idle longer (the usual victim of a
database restart or of a firewall's idle timeout) is still checked, and replaced when dead.
"""

from __future__ import annotations

import time

from sqlalchemy import event, exc


def ping_idle_connections(engine, idle_seconds: float) -> None:
    """Before handing out a connection idle for ``idle_seconds`` or more, check it is alive."""

    @event.listens_for(engine, "checkin")
    def remember_last_use(dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # new (just connected) or used a moment ago
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        except Exception as error:
            # The pool drops this connection and hands out another (a new one if need be).
            raise exc.DisconnectionError(str(error)) from error
        finally:
            try:
                cursor.close()
            except Exception:  # a dead connection may refuse that too
                pass
        # The ping opened a transaction on a non-autocommit connection: end it.
        dbapi_connection.rollback()
