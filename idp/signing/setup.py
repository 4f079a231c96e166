"""Building the key service from settings, and the scheduled rotation."""

from __future__ import annotations

import logging
import threading
import time

from idp.signing.service import KeyService
from idp.signing.stores import DatabaseKeyStore, FileKeyStore

log = logging.getLogger(__name__)

# Checking whether a scheduled rotation is due costs one small query: once a minute.
SCHEDULE_CHECK_SECONDS = 60


def build_key_service(app, settings) -> KeyService:
    """The key service of ``app``; with the file store, keys are loaded (or created) now."""
    from idp.extensions import db

    if settings.key_store == "database":
        store = DatabaseKeyStore(db, settings.data_dir)
    else:
        store = FileKeyStore(settings.keys_dir)
    passphrase = settings.key_encryption_key.encode() if settings.key_encryption_key else None
    if passphrase is None:
        log.warning("IDP_KEY_ENCRYPTION_KEY is unset: private signing keys are stored unencrypted")
    service = KeyService(store, passphrase=passphrase, jwks_max_age=settings.jwks_max_age,
                         token_lifetime=settings.id_token_ttl,
                         refresh_seconds=settings.keys_refresh_seconds)
    if settings.key_store == "files":
        # Fail at start, not at the first login, on a corrupt or unreadable key.
        load_keys(service, settings.generated)
    if settings.key_rotation_days > 0:
        _start_schedule(app, service, settings.key_rotation_days)
    return service


def load_keys(service: KeyService, created: list[str] | None = None) -> None:
    """Create the first keys if there are none, then load and check every key."""
    service.ensure_initialised(created)
    service.snapshot_fresh()


def _start_schedule(app, service: KeyService, days: int) -> None:
    """Rotate the RS256 key every ``days`` days from a daemon thread of this process.

    Every worker runs the check; the store's exclusive transaction and the
    "due" re-check inside it make sure only one of them rotates.
    """

    def loop() -> None:
        while True:
            time.sleep(SCHEDULE_CHECK_SECONDS)
            try:
                with app.app_context():
                    result = service.rotate(due_before=int(time.time()) - days * 86400)
                if result.get("rotated"):
                    log.info("scheduled signing key rotation: %s", result)
            except Exception:
                log.exception("scheduled signing key rotation failed")

    threading.Thread(target=loop, name="idp-key-rotation", daemon=True).start()
