"""Error pages: French for people, never a stack trace; Redis down means 503."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from idp.interaction.pages import render_error, service_unavailable

log = logging.getLogger(__name__)

# Protocol endpoints answer programs in JSON (RFC 6749 §5.2 style).
JSON_PATHS = ("/token", "/revoke", "/introspect", "/userinfo", "/jwks", "/.well-known/")

MESSAGES = {
    "csrf": ("Page expirée", "Ce formulaire a expiré ou n'a pas été envoyé depuis notre site. "
             "Rechargez la page et réessayez."),
    "ticket": ("Demande expirée", "Votre demande de connexion a expiré. Retournez sur le service "
               "que vous souhaitez utiliser pour recommencer."),
}
GENERIC = {
    400: ("Requête invalide", "La requête envoyée n'est pas valide."),
    404: ("Page introuvable", "La page demandée n'existe pas."),
    405: ("Méthode non autorisée", "Cette page ne peut pas être utilisée de cette façon."),
    413: ("Envoi trop volumineux", "Les données envoyées sont trop volumineuses."),
    500: ("Erreur technique", "Une erreur technique est survenue. Veuillez réessayer plus tard."),
}


def _wants_json() -> bool:
    return request.path.startswith(JSON_PATHS)


def init_app(app: Flask) -> None:
    """Install the handlers."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        if _wants_json():
            if getattr(exc, "body", None) is not None:
                # An OAuth error raised by Authlib: its RFC 6750 body and WWW-Authenticate.
                return exc.get_response()
            return jsonify(error="invalid_request" if exc.code < 500 else "server_error"), exc.code
        title, message = MESSAGES.get(exc.description, GENERIC.get(exc.code, GENERIC[400]))
        return render_error(title, message, exc.code)

    @app.errorhandler(RedisError)
    def redis_down(exc: RedisError):
        log.error("Redis unavailable: %s", type(exc).__name__)
        if _wants_json():
            return jsonify(error="temporarily_unavailable"), 503
        return service_unavailable()

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return jsonify(error="server_error"), 500
        return render_error(*GENERIC[500], 500)
