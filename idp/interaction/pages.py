"""Shared page renderers: errors and the "service unavailable" page."""

from __future__ import annotations

from flask import render_template


def render_error(title: str, message: str, status: int, details: str | None = None):
    """A French error page with the right status code."""
    return render_template("error.html", title=title, message=message, details=details), status


def service_unavailable():
    """The 503 page shown when a dependency (Redis) is down: fail closed, say so."""
    return render_error("Service momentanément indisponible",
                        "La connexion est momentanément indisponible. Veuillez réessayer dans "
                        "quelques minutes.", 503)
