"""Browser security: CSRF tokens on forms, security headers on every response."""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session

CSRF_FIELD = "csrf_token"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def csrf_token() -> str:
    """The CSRF token of this session, created on first use (a Jinja global)."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Abort with 400 unless the posted CSRF token matches the session's."""
    expected = session.get("csrf")
    sent = request.form.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        abort(400, description="csrf")


def init_app(app: Flask) -> None:
    """Install the Jinja global and the header hook."""
    app.jinja_env.globals["csrf_token"] = csrf_token
    https = app.config["IDP_SETTINGS"].issuer_is_https

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers.setdefault("Cache-Control", "no-store")
        if https:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response
