"""idp: an OpenID Connect identity provider for French health professionals."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from flask import Flask

from idp.config import ConfigError, Settings


@dataclass
class Services:
    """Shared, configured services of one app (``app.extensions['idp']``)."""

    settings: Settings
    keys: object = None
    passwords: object = None
    lockout: object = None
    discovery_json: str = ""


def create_app(test_config: dict | None = None) -> Flask:
    """The application factory. ``test_config`` overrides settings (``IDP_*`` names)."""
    env = dict(os.environ)
    env.update({k: str(v) for k, v in (test_config or {}).items() if k.startswith("IDP_")})
    settings = Settings.from_env(env)
    if settings.env == "production":
        problems = settings.production_problems()
        if problems:
            raise ConfigError("IDP_ENV=production refuses development defaults:\n- "
                              + "\n- ".join(problems))
    settings.apply_development_defaults()

    app = Flask(__name__)
    app.config.update(
        IDP_SETTINGS=settings, SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=64 * 1024, JSON_AS_ASCII=False)
    app.config.update({k: v for k, v in (test_config or {}).items() if not k.startswith("IDP_")})
    # Authlib refuses http URLs unless told otherwise. Transport security is ours to
    # enforce: production requires an https issuer, and TLS ends at the proxy.
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

    _init_extensions(app, settings)
    return app


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # Concurrent writers wait for each other instead of failing at once.
        return {"connect_args": {"timeout": 15}}
    # Liveness checks: only of connections that sat idle (idp/db_pool.py), not per request.
    return {"pool_size": 10, "max_overflow": 10}


def _init_extensions(app: Flask, settings: Settings) -> None:
    from idp import devmail, errors, redis_store, security
    from idp.accounts.lockout import LockoutService
    from idp.accounts.passwords import PasswordService
    from idp.admin import views as admin_views
    from idp.authenticators import init_app as init_authenticators
    from idp.db_pool import ping_idle_connections
    from idp.extensions import db, migrate
    from idp.interaction import account, account_reset, account_signup, card, logout
    from idp.interaction import views as interaction_views
    from idp.interaction.sessions import RedisSessionInterface
    from idp.oauth import mixins, server
    from idp.oauth import views as oauth_views
    from idp.signing.setup import build_key_service

    db.init_app(app)
    if not settings.database_url.startswith("sqlite"):
        with app.app_context():
            ping_idle_connections(db.engine, settings.db_ping_idle_seconds)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    redis_store.init_app(app)
    mixins.set_secret_hash_key(hashlib.sha256(b"client-secret:" + settings.secret_key.encode())
                               .digest())
    services = Services(settings=settings)
    services.keys = build_key_service(app, settings)
    services.passwords = PasswordService(settings.argon2_memory_kib, settings.argon2_time_cost,
                                         settings.argon2_parallelism)
    services.lockout = LockoutService(app.extensions["redis"], settings.secret_key,
                                      settings.lockout_threshold, settings.lockout_durations)
    app.extensions["idp"] = services
    app.session_interface = RedisSessionInterface(settings.session_idle_ttl,
                                                  settings.session_absolute_ttl,
                                                  secure=settings.issuer_is_https)
    init_authenticators(app)
    server.init_app(app)
    oauth_views.init_app(app)
    app.register_blueprint(interaction_views.bp)
    app.register_blueprint(card.bp)
    app.register_blueprint(logout.bp)
    app.register_blueprint(account_signup.bp)
    app.register_blueprint(account_reset.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(admin_views.bp)
    devmail.init_app(app)
    security.init_app(app)
    errors.init_app(app)
