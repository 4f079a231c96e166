"""Private keys encrypted at rest with IDP_KEY_ENCRYPTION_KEY (files and database stores)."""

from __future__ import annotations

import pytest
from signing_helpers import (
    database_store,
    file_snapshot,
    files_store,
    init_keys,
    isolated_signing_keys,
    jwks_of,
    keys_of,
    log_in,
    setup_rp_and_user,
    signing_key_rows,
    verify,
)

from idp.signing.setup import load_keys
from idp.signing.stores import KeyStoreError

PASSPHRASE = "correct horse battery staple 42"
ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


@pytest.fixture(autouse=True)
def _no_passphrase_from_the_environment(monkeypatch):
    monkeypatch.delenv("IDP_KEY_ENCRYPTION_KEY", raising=False)


def _pems(directory):
    return {p.name: p.read_bytes() for p in directory.glob("*.pem")}


def test_files_store_keys_are_encrypted_and_usable(make_app, tmp_path):
    app = make_app(**files_store(tmp_path, seed=False), IDP_KEY_ENCRYPTION_KEY=PASSPHRASE,
                   IDP_KEYS_REFRESH_SECONDS=0)
    with app.app_context():
        keys_of(app).rotate(force=True)
    pems = _pems(tmp_path / "keys")
    assert len(pems) == 3
    for name, pem in pems.items():
        assert pem.startswith(ENCRYPTED_PEM), name
        assert b"BEGIN PRIVATE KEY" not in pem and b"RSA PRIVATE KEY" not in pem
    client_id, secret = setup_rp_and_user(app)
    token = log_in(app, client_id, secret)["id_token"]
    verify(token, jwks_of(app.test_client()))
    # The same passphrase opens the store again (a restart).
    restarted = make_app(**files_store(tmp_path, seed=False), IDP_KEY_ENCRYPTION_KEY=PASSPHRASE)
    assert jwks_of(restarted.test_client()) == jwks_of(app.test_client())


@pytest.mark.parametrize("passphrase, message", [
    ("not the right passphrase", r"wrong IDP_KEY_ENCRYPTION_KEY"),
    ("", r"is encrypted: set IDP_KEY_ENCRYPTION_KEY"),
])
def test_files_store_with_a_wrong_or_missing_passphrase_refuses_to_start(make_app, tmp_path,
                                                                         passphrase, message):
    make_app(**files_store(tmp_path, seed=False), IDP_KEY_ENCRYPTION_KEY=PASSPHRASE)
    before = file_snapshot(tmp_path / "keys")
    with pytest.raises(KeyStoreError, match=message):
        make_app(**files_store(tmp_path, seed=False), IDP_KEY_ENCRYPTION_KEY=passphrase)
    assert file_snapshot(tmp_path / "keys") == before


@pytest.fixture
def isolated_table(base_config):
    with isolated_signing_keys(base_config["IDP_DATABASE_URL"]):
        yield


def test_database_store_rows_are_encrypted(make_app, base_config, isolated_table):
    url = base_config["IDP_DATABASE_URL"]
    app = make_app(**database_store(IDP_KEY_ENCRYPTION_KEY=PASSPHRASE,
                                    IDP_KEYS_REFRESH_SECONDS=0))
    init_keys(app)
    with app.app_context():
        keys_of(app).rotate(force=True)
    rows = signing_key_rows(url)
    assert len(rows) == 3
    for kid, row in rows.items():
        assert row["pem"].encode().startswith(ENCRYPTED_PEM), kid
    client_id, secret = setup_rp_and_user(app)
    verify(log_in(app, client_id, secret)["id_token"], jwks_of(app.test_client()))

    for passphrase, message in (("not the right passphrase", "wrong IDP_KEY_ENCRYPTION_KEY"),
                                ("", "is encrypted: set IDP_KEY_ENCRYPTION_KEY")):
        other = make_app(**database_store(IDP_KEY_ENCRYPTION_KEY=passphrase))
        with other.app_context(), pytest.raises(KeyStoreError, match=message):
            load_keys(keys_of(other))
    assert signing_key_rows(url) == rows
