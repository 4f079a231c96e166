"""Server-side sessions in Redis, revocable at logout.

The cookie holds a random session id only. Sessions close after
``session_idle_ttl`` without activity or ``session_absolute_ttl`` in all
(amelipro: 1 h idle, 4 h total). Requests without a session cookie (token,
UserInfo, JWKS calls from relying parties) never touch Redis, so those
endpoints keep working while Redis is down; a browser request whose session
cannot be read gets an empty session flagged ``unavailable``.
"""

from __future__ import annotations

import json
import secrets
import time

from flask import session
from flask.sessions import SessionInterface, SessionMixin
from redis.exceptions import RedisError
from werkzeug.datastructures import CallbackDict

from idp.redis_store import get_redis

COOKIE_NAME = "idp_session"
KEY_PREFIX = "idp:session:"


def sessions_available() -> bool:
    """Whether a session can be kept: a known session was just read, or Redis answers a ping.

    A browser without a session would otherwise get a form whose CSRF token was
    never stored, and a misleading "page expired" error on submit.
    """
    if session.sid:
        return True
    try:
        return bool(get_redis().ping())
    except RedisError:
        return False


class RedisSession(CallbackDict, SessionMixin):
    """A session dict that knows its id, its age and whether Redis answered."""

    def __init__(self, initial=None, sid: str | None = None, created: float | None = None,
                 unavailable: bool = False):
        def on_update(self):
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.sid = sid
        self.created = created or time.time()
        self.modified = False
        self.unavailable = unavailable
        self.regenerate = False

    def rotate(self) -> None:
        """Give the session a new id at the next save (prevents session fixation)."""
        self.regenerate = True
        self.modified = True


class RedisSessionInterface(SessionInterface):
    """Flask session interface storing session data as JSON in Redis."""

    def __init__(self, idle_ttl: int, absolute_ttl: int, secure: bool) -> None:
        self.idle_ttl = idle_ttl
        self.absolute_ttl = absolute_ttl
        self.secure = secure

    def open_session(self, app, request):
        """Load the session named by the cookie, lazily: no cookie, no Redis call."""
        sid = request.cookies.get(COOKIE_NAME)
        if not sid or len(sid) > 64:
            return RedisSession()
        try:
            raw = get_redis().get(KEY_PREFIX + sid)
        except RedisError:
            return RedisSession(unavailable=True)
        if raw is None:
            return RedisSession()
        try:
            data = json.loads(raw)
        except ValueError:
            return RedisSession()
        created = data.pop("_created", time.time())
        if time.time() - created > self.absolute_ttl:
            return RedisSession()
        return RedisSession(data, sid=sid, created=created)

    def save_session(self, app, session, response):
        """Write the session back (sliding idle expiry) and set or clear the cookie."""
        if session.unavailable:
            return
        cookie_args = dict(path="/", httponly=True, samesite="Lax", secure=self.secure)
        if not session and session.sid:
            # Emptied (logout): delete it everywhere.
            try:
                get_redis().delete(KEY_PREFIX + session.sid)
            except RedisError:
                pass
            response.delete_cookie(COOKIE_NAME, **cookie_args)
            return
        if not session:
            return
        remaining = self.absolute_ttl - (time.time() - session.created)
        ttl = int(max(1, min(self.idle_ttl, remaining)))
        old_sid = session.sid
        if session.regenerate or not session.sid:
            session.sid = secrets.token_urlsafe(32)
        payload = json.dumps({**dict(session), "_created": session.created})
        try:
            pipe = get_redis().pipeline()
            pipe.set(KEY_PREFIX + session.sid, payload, ex=ttl)
            if old_sid and old_sid != session.sid:
                pipe.delete(KEY_PREFIX + old_sid)
            pipe.execute()
        except RedisError:
            return  # fail closed: no cookie for a session that was not stored
        response.set_cookie(COOKIE_NAME, session.sid, max_age=ttl, **cookie_args)
        response.vary.add("Cookie")
