"""The ``idp`` command line: registering clients and creating accounts, with every check."""

import json
import os
import shutil

import pytest
from click.testing import CliRunner
from conftest import checked_cli_result

from idp.cli import main

STRONG_PASSWORD = "Xq7#vLm2!pZ-cli"
BLOCKLISTED = ("Ce mot de passe est trop courant ou figure dans des listes de mots de passe "
               "divulgués : choisissez-en un autre.")


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory, base_config):
    """Signing keys shared by the module (generating RSA keys is slow).

    A copy of the session's file store; on PostgreSQL the session keeps its keys in
    the database, so the first ``idp`` command of the module creates them here.
    """
    target = tmp_path_factory.mktemp("cli") / "keys"
    source = base_config["IDP_KEYS_DIR"]
    if os.path.isdir(source):
        shutil.copytree(source, target)
    else:
        target.mkdir()
    return target


@pytest.fixture
def idp(tmp_path, keys_dir, base_config, monkeypatch):
    """Run ``idp ...`` against a fresh SQLite database; return the click result."""
    for name in [n for n in os.environ if n.startswith("IDP_")]:
        monkeypatch.delenv(name)
    env = {"IDP_DATA_DIR": str(tmp_path / "data"), "IDP_KEYS_DIR": str(keys_dir),
           "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
           "IDP_REDIS_URL": base_config["IDP_REDIS_URL"], "IDP_SECRET_KEY": "c" * 40}
    runner = CliRunner()

    def run(*args, ok=True):
        return checked_cli_result(runner.invoke(main, list(args), env=env), ok)

    return run


def json_of(result) -> dict:
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def create_client(idp, *extra, ok=True):
    return idp("clients", "create", "--name", "Logiciel de test",
               "--redirect-uri", "https://rp.example.fr/callback", "--json", *extra, ok=ok)


def create_ps(idp, email="kit.doc@example.fr", am="123456789", password=STRONG_PASSWORD,
              ok=True):
    return idp("accounts", "create-ps", "--email", email, "--am", am, "--given-name", "KIT",
               "--family-name", "DOC0042788", "--password", password, "--json", ok=ok)


def test_confidential_client_gets_an_id_and_a_secret(idp):
    out = json_of(create_client(idp))
    assert out["client_id"]
    assert len(out["client_secret"]) >= 32
    assert out["token_endpoint_auth_method"] == "client_secret_basic"
    assert out["redirect_uris"] == ["https://rp.example.fr/callback"]
    # Stored: the same client id cannot be registered twice.
    again = create_client(idp, "--client-id", out["client_id"], ok=False)
    assert "already exists" in again.output


def test_public_client_gets_no_secret(idp):
    out = json_of(create_client(idp, "--public"))
    assert out["client_id"]
    assert not out.get("client_secret")
    assert out["token_endpoint_auth_method"] == "none"


@pytest.mark.parametrize("uri", ["not-a-uri", "javascript:alert(1)",
                                 "http://rp.example.fr/callback",
                                 "https://rp.example.fr/callback#fragment"])
def test_invalid_redirect_uri_is_refused(idp, uri):
    result = idp("clients", "create", "--name", "Logiciel", "--redirect-uri", uri, "--json",
                 ok=False)
    assert "redirect URI" in result.output
    assert "client_id" not in result.stdout


def test_professional_account_is_created_with_a_sub(idp):
    out = json_of(create_ps(idp))
    assert len(out["sub"]) >= 16 and out["sub"] not in ("kit.doc@example.fr", "123456789")
    assert out["kind"] == "ps"
    assert out["email"] == "kit.doc@example.fr"
    assert out["identifiers"]["am"] == ["123456789"]


def test_weak_password_is_refused_with_the_french_policy_message(idp):
    result = create_ps(idp, password="Azerty123!", ok=False)
    assert BLOCKLISTED in result.output
    assert "sub" not in result.stdout


def test_numero_am_of_another_account_is_refused(idp):
    create_ps(idp)
    result = create_ps(idp, email="autre.medecin@example.fr", ok=False)
    assert "Cet identifiant est déjà utilisé par un compte : 123456789" in result.output


def test_centre_with_a_bad_finess_key_is_refused(idp):
    common = ("accounts", "create-centre", "--name", "CENTRE DE SANTE TEST",
              "--email", "direction@cds.example.fr", "--password", STRONG_PASSWORD, "--json")
    refused = idp(*common, "--finess", "750712185", ok=False)
    assert "N° FINESS invalide" in refused.output
    created = json_of(idp(*common, "--finess", "750 712 184"))
    assert created["kind"] == "centre"
    assert created["identifiers"]["finess"] == ["750712184"]


def test_purge_reports_what_it_deleted(idp):
    assert json_of(idp("purge", "--json")) == {"authorization_codes": 0, "tokens": 0,
                                               "account_tokens": 0}
    assert "tokens: 0 expired rows deleted" in idp("purge").stdout
