"""Helpers shared by the signing key tests (tests/signing).

Not a test module: imported by the ``test_signing_*.py`` files of this folder.

Tests that change keys never touch the session's key store: they use a key
directory of their own (files store) or an emptied ``signing_keys`` table whose
rows are put back afterwards (database store, :func:`isolated_signing_keys`).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner
from conftest import OIDC
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import create_engine

from idp.cli import main

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


_TEMPLATE: list[Path] = []


def _template_keys() -> Path:
    """A current and a next RS256 key, generated once per test session (RSA is slow)."""
    if not _TEMPLATE:
        from idp.signing.service import KeyService
        from idp.signing.setup import load_keys
        from idp.signing.stores import FileKeyStore

        directory = Path(tempfile.mkdtemp(prefix="idp-signing-template-")) / "keys"
        atexit.register(shutil.rmtree, directory.parent, True)
        load_keys(KeyService(FileKeyStore(directory), passphrase=None, jwks_max_age=300,
                             token_lifetime=300))
        _TEMPLATE.append(directory)
    return _TEMPLATE[0]


def files_store(tmp_path: Path, name: str = "keys", seed: bool = True, **extra) -> dict:
    """Settings of an app with a key directory of its own.

    ``seed``: start from a copy of pre-generated keys (a current and a next key,
    unencrypted); otherwise the app generates its first keys itself.
    """
    directory = tmp_path / name
    if seed and not directory.exists():
        shutil.copytree(_template_keys(), directory)
    return {"IDP_KEY_STORE": "files", "IDP_KEYS_DIR": str(directory), **extra}


def database_store(**extra) -> dict:
    """Settings of an app using the ``signing_keys`` table (isolate it first)."""
    return {"IDP_KEY_STORE": "database", **extra}


@contextmanager
def isolated_signing_keys(database_url: str):
    """An empty ``signing_keys`` table for the duration; its rows are restored afterwards."""
    from idp.models import SigningKey

    table = SigningKey.__table__
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            saved = [dict(row) for row in conn.execute(table.select()).mappings()]
            conn.execute(table.delete())
        try:
            yield
        finally:
            with engine.begin() as conn:
                conn.execute(table.delete())
                if saved:
                    conn.execute(table.insert(), saved)
    finally:
        engine.dispose()


def signing_key_rows(database_url: str) -> dict[str, dict]:
    """Every row of ``signing_keys`` by kid, read outside the app."""
    from idp.models import SigningKey

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {row["kid"]: dict(row)
                    for row in conn.execute(SigningKey.__table__.select()).mappings()}
    finally:
        engine.dispose()


def keys_of(app):
    """The key service of an app."""
    return app.extensions["idp"].keys


def init_keys(app) -> None:
    """Create the first keys of an app's store if it has none (the database store needs it)."""
    from idp.signing.setup import load_keys

    with app.app_context():
        load_keys(keys_of(app))


def listing(app) -> list[dict]:
    """``idp keys list`` as seen by an app (re-read from its store)."""
    with app.app_context():
        return keys_of(app).listing()


def by_state(rows: list[dict], alg: str | None = None) -> dict[str, list[str]]:
    """Kids by state, for one algorithm or all."""
    states: dict[str, list[str]] = {"current": [], "next": [], "retired": []}
    for row in rows:
        if alg is None or row["alg"] == alg:
            states[row["state"]].append(row["kid"])
    return states


def jwks_of(client) -> dict:
    """The JWKS an app publishes."""
    response = client.get("/jwks")
    assert response.status_code == 200, response.status_code
    return json.loads(response.get_data(as_text=True))


def published_kids(client) -> set[str]:
    """The kids of the published JWKS."""
    return {key["kid"] for key in jwks_of(client)["keys"]}


def verify(token: str, jwks: dict, alg: str = "RS256"):
    """Verify a token's signature against a JWKS, picking the key by kid (as an RP does)."""
    return jwt.decode(token, KeySet.import_key_set(jwks), algorithms=[alg])


def header_of(token: str) -> dict:
    """The protected header of a compact JWS (not verified)."""
    from joserfc import jws

    return dict(jws.extract_compact(token.encode()).headers())


def log_in(app, client_id: str, secret: str, **extra) -> dict:
    """A full login of the test professional through the app; the token response."""
    return OIDC(app, app.test_client()).tokens(client_id, secret, **extra)


def setup_rp_and_user(app, **client_kwargs) -> tuple[str, str]:
    """A first-party confidential client and the test professional; (client_id, secret)."""
    oidc = OIDC(app, app.test_client())
    client = oidc.register_client(**client_kwargs)
    oidc.create_ps()
    return client


def cli_env(base_config: dict, **settings) -> dict:
    """Environment of an ``idp`` command run against the test database and Redis."""
    env = {"IDP_DATABASE_URL": base_config["IDP_DATABASE_URL"],
           "IDP_REDIS_URL": base_config["IDP_REDIS_URL"],
           "IDP_SECRET_KEY": base_config["IDP_SECRET_KEY"],
           "IDP_DATA_DIR": base_config["IDP_DATA_DIR"]}
    env.update({k: str(v) for k, v in settings.items()})
    return env


def clear_idp_environment(monkeypatch) -> None:
    """Forget ``IDP_*`` variables of the calling environment (commands read os.environ)."""
    for name in [n for n in os.environ if n.startswith("IDP_")]:
        monkeypatch.delenv(name)


def run_idp(env: dict, *args: str):
    """``idp <args>`` in this process; the click result."""
    return CliRunner().invoke(main, list(args), env=env)


def json_output(result):
    """The JSON document an ``idp ... --json`` command printed."""
    lines = [line for line in result.stdout.splitlines() if line.startswith(("{", "["))]
    assert len(lines) == 1, result.output
    return json.loads(lines[0])


def file_snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of a directory with its bytes and permission bits."""
    return {p.name: (p.read_bytes(), p.stat().st_mode & 0o777)
            for p in sorted(Path(directory).iterdir()) if p.is_file()}
