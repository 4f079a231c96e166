"""A corrupt, incomplete or unsafe key store stops the IdP with a clear message, untouched."""

from __future__ import annotations

import re
import shutil

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from signing_helpers import (
    database_store,
    file_snapshot,
    files_store,
    init_keys,
    isolated_signing_keys,
    keys_of,
    listing,
    signing_key_rows,
)
from sqlalchemy import create_engine, text

from idp.signing.service import KeyService
from idp.signing.setup import load_keys
from idp.signing.stores import FileKeyStore, KeyStoreError


def _ec_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


@pytest.fixture(scope="module")
def template_store(tmp_path_factory):
    """A valid files store (a current and a next key), copied by each test."""
    directory = tmp_path_factory.mktemp("template") / "keys"
    service = KeyService(FileKeyStore(directory), passphrase=None, jwks_max_age=300,
                         token_lifetime=300)
    load_keys(service)
    current = next(r.kid for r in service.snapshot().records if r.state == "current")
    return directory, current


def _garbage(pem, meta):
    pem.write_bytes(b"this is not a private key\n")


def _truncated(pem, meta):
    pem.write_bytes(pem.read_bytes()[:200])


def _empty(pem, meta):
    pem.write_bytes(b"")


def _wrong_algorithm(pem, meta):
    pem.write_bytes(_ec_pem())


def _missing_metadata(pem, meta):
    meta.unlink()


def _missing_private_key(pem, meta):
    pem.unlink()


def _readable_by_others(pem, meta):
    pem.chmod(0o644)


def _corrupt_metadata(pem, meta):
    meta.write_text('{"kid": ')


def _unknown_state(pem, meta):
    meta.write_text(meta.read_text().replace('"current"', '"active"'))


CASES = {
    "garbage PEM": (_garbage, r"cannot read the private key of signing key {kid}"),
    "truncated PEM": (_truncated, r"cannot read the private key of signing key {kid}"),
    "empty PEM": (_empty, r"{kid}.*invalid key record"),
    "key of another algorithm": (_wrong_algorithm, r"signing key {kid}.*cannot sign with RS256"),
    "missing .json": (_missing_metadata, r"{kid}\.pem has no metadata file {kid}\.json"),
    ".json without .pem": (_missing_private_key, r"{kid}\.json has no private key file"),
    "mode 0644": (_readable_by_others, r"{kid}\.pem is readable by other users; run: chmod 600"),
    "corrupt .json": (_corrupt_metadata, r"cannot read signing key {kid}"),
    "unknown state": (_unknown_state, r"{kid}\.json: invalid key record \(state 'active'\)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_corrupt_files_store_refuses_to_start_and_is_left_alone(make_app, tmp_path,
                                                                template_store, case):
    template, kid = template_store
    directory = tmp_path / "keys"
    shutil.copytree(template, directory)
    corrupt, message = CASES[case]
    corrupt(directory / f"{kid}.pem", directory / f"{kid}.json")
    before = file_snapshot(directory)
    with pytest.raises(KeyStoreError, match=message.format(kid=re.escape(kid))):
        make_app(**files_store(tmp_path))
    # Never repaired or replaced: same files, same bytes, same modes, no new key.
    assert file_snapshot(directory) == before


def test_key_corrupted_under_a_running_instance_is_never_replaced(make_app, tmp_path,
                                                                  template_store):
    template, kid = template_store
    directory = tmp_path / "keys"
    shutil.copytree(template, directory)
    app = make_app(**files_store(tmp_path), IDP_KEYS_REFRESH_SECONDS=0)
    assert app.test_client().get("/jwks").status_code == 200
    (directory / f"{kid}.pem").write_bytes(b"garbage\n")
    before = file_snapshot(directory)
    with app.app_context(), pytest.raises(KeyStoreError, match=re.escape(kid)):
        keys_of(app).snapshot()
    assert app.test_client().get("/jwks").status_code >= 500
    assert file_snapshot(directory) == before


@pytest.fixture
def isolated_table(base_config):
    with isolated_signing_keys(base_config["IDP_DATABASE_URL"]):
        yield


DB_CASES = {
    "garbage PEM": ("pem", "garbage", r"cannot read the private key of signing key {kid}"),
    "key of another algorithm": ("pem", _ec_pem().decode(), r"{kid}.*cannot sign with RS256"),
    "unknown state": ("state", "active", r"signing_keys row {kid}: invalid key record"),
}


@pytest.mark.parametrize("case", list(DB_CASES))
def test_corrupt_database_row_fails_load_keys_and_is_left_alone(make_app, base_config,
                                                               isolated_table, case):
    url = base_config["IDP_DATABASE_URL"]
    app = make_app(**database_store())
    init_keys(app)
    kid = next(r["kid"] for r in listing(app) if r["state"] == "current")
    column, value, message = DB_CASES[case]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE signing_keys SET {column} = :value WHERE kid = :kid"),
                     {"value": value, "kid": kid})
    engine.dispose()
    before = signing_key_rows(url)
    # Another instance starting (or `idp migrate`) loads the keys: a clear error.
    restarted = make_app(**database_store())
    with restarted.app_context(), pytest.raises(KeyStoreError,
                                                match=message.format(kid=re.escape(kid))):
        load_keys(keys_of(restarted))
    assert signing_key_rows(url) == before
