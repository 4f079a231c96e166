"""Pluggable login methods and their registry.

A new method is a new module defining an :class:`~idp.authenticators.base.Authenticator`
subclass decorated with :func:`register`; ``IDP_AUTHENTICATORS`` chooses which run.
"""

from __future__ import annotations

from collections.abc import Callable

from idp.authenticators.base import Authenticator

# name -> factory(app) building a configured authenticator
REGISTRY: dict[str, Callable] = {}


def register(name: str):
    """Class decorator adding a login method under ``name``."""

    def decorate(cls: type[Authenticator]) -> type[Authenticator]:
        REGISTRY[name] = cls.from_app
        return cls

    return decorate


def init_app(app) -> None:
    """Build the enabled authenticators into ``app.extensions['authenticators']``."""
    from idp.authenticators import cps, password  # noqa: F401  (register themselves)

    enabled = {}
    for name in app.config["IDP_SETTINGS"].authenticators:
        if name not in REGISTRY:
            raise RuntimeError(f"IDP_AUTHENTICATORS names an unknown method: {name!r}")
        enabled[name] = REGISTRY[name](app)
    app.extensions["authenticators"] = enabled


def enabled(app) -> dict[str, Authenticator]:
    """The configured authenticators of ``app``, by name."""
    return app.extensions["authenticators"]
