"""Authorization responses: redirect (query) or auto-posted form, always with ``iss``."""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from flask import current_app, render_template, request


def authorization_response(redirect_uri: str, params: list[tuple[str, str]],
                           response_mode: str = "query") -> tuple[int, str, list]:
    """(status, body, headers) delivering ``params`` and ``iss`` (RFC 9207) to the client."""
    params = [*params, ("iss", current_app.config["IDP_SETTINGS"].issuer)]
    if response_mode == "form_post":
        body = render_template("form_post.html", redirect_uri=redirect_uri, params=params)
        # The auto-submitted form targets the client: allow exactly that origin.
        csp = ("default-src 'none'; script-src 'self'; style-src 'self'; "
               f"form-action {_origin(redirect_uri)}; frame-ancestors 'none'; base-uri 'none'")
        return 200, body, [("Content-Type", "text/html; charset=utf-8"),
                           ("Content-Security-Policy", csp), ("Cache-Control", "no-store")]
    # After a POST (a form-posted authorization request) the browser must follow with GET.
    status = 303 if request.method == "POST" else 302
    return status, "", [("Location", add_params_to_uri(redirect_uri, params)),
                        ("Cache-Control", "no-store")]


def _origin(uri: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def error_params(error) -> list[tuple[str, str]]:
    """The query parameters of an OAuth error (error, description, state)."""
    params = [("error", error.error)]
    if error.description:
        params.append(("error_description", error.description))
    if getattr(error, "state", None) is not None:
        params.append(("state", error.state))
    return params
