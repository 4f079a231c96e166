"""gunicorn settings of the IdP: ``gunicorn -c deploy/gunicorn.conf.py idp.wsgi:app``.

Sizing (docs/deployment.md): one worker process per core, since Python runs one
thread at a time per process; a few threads per worker so that a worker keeps its
core busy while one request waits on PostgreSQL or Redis, and while Argon2 (which
releases the GIL) hashes a password. Every worker shares sessions, lockout counters
(Redis) and signing keys (PostgreSQL), so any worker may serve any request.

Environment overrides: WEB_CONCURRENCY (workers), GUNICORN_THREADS, GUNICORN_BIND,
FORWARDED_ALLOW_IPS (gunicorn's own: addresses of the TLS proxy).
"""

import os

# os.sched_getaffinity: the cores this process may use (a container's CPU set), not the host's.
CORES = len(os.sched_getaffinity(0))

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", CORES))
# gthread: threads per worker, and HTTP keep-alive (the sync worker closes every connection).
worker_class = "gthread"
# 4 threads: enough to overlap database round trips and password hashing with work on the
# core; more only queue on the GIL. idp's SQLAlchemy pool (10 + 10 overflow per worker)
# covers them, so a thread never waits for a connection.
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# One listening socket per worker (SO_REUSEPORT), so that the kernel spreads new connections
# evenly over the workers. With the one shared socket, whichever worker wakes first accepts a
# burst of keep-alive connections and keeps them: measured with 16 keep-alive clients and two
# workers, 3.7 s of CPU on one worker against 1.6 s on the other, and 1.08 x one worker's
# throughput; with a socket each, 2.7 s against 2.6 s. The cost: a worker that dies drops
# the connections still waiting in its own backlog (clients retry; nginx retries upstream).
reuse_port = True
# Connections idle between a relying party's calls (token, then UserInfo) stay open briefly.
keepalive = 5
# Longest legitimate request: a login (one Argon2 hash) under load; beyond, the worker is stuck.
timeout = 30
graceful_timeout = 20
# No preload: each worker opens its own database and Redis connections and key refresher.
preload_app = False
# Errors to stderr (systemd's journal or the container runtime). No access log: nginx in
# front keeps one, and writing a second costs every request.
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "warning")
