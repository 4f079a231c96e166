"""Settings: defaults, parsing, the production refusal of development defaults,
first-start files (secret key, signing keys) and unusable key files."""

import shutil
import stat
from pathlib import Path

import pytest

from idp import create_app
from idp.config import ConfigError, Settings

PRODUCTION_PROBLEMS = {
    # setting left at its development default -> the variable the message must name
    "IDP_DATABASE_URL": ("sqlite:///idp.sqlite3", "IDP_DATABASE_URL"),
    "IDP_REDIS_URL": (None, "IDP_REDIS_URL"),
    "IDP_SECRET_KEY": (None, "IDP_SECRET_KEY"),
    "IDP_ISSUER": ("http://idp.example.fr", "IDP_ISSUER"),
    "IDP_KEY_ENCRYPTION_KEY": (None, "IDP_KEY_ENCRYPTION_KEY"),
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """create_app reads os.environ: no IDP_* variable of the caller leaks in."""
    import os

    for name in [n for n in os.environ if n.startswith("IDP_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def dirs(tmp_path):
    """Fresh data and keys directories."""
    return {"IDP_DATA_DIR": str(tmp_path / "data"), "IDP_KEYS_DIR": str(tmp_path / "keys")}


@pytest.fixture
def production_env(dirs, base_config):
    """Every production setting set (the database URL is never connected to at start)."""
    database = base_config["IDP_DATABASE_URL"]
    if not database.startswith("postgresql"):
        database = "postgresql+psycopg://idp@127.0.0.1:1/idp"
    return {**dirs, "IDP_ENV": "production", "IDP_ISSUER": "https://idp.example.fr",
            "IDP_DATABASE_URL": database, "IDP_REDIS_URL": base_config["IDP_REDIS_URL"],
            "IDP_SECRET_KEY": "s" * 64, "IDP_KEY_ENCRYPTION_KEY": "k" * 48}


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def key_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def error_of(config: dict) -> Exception:
    """The exception create_app raises for ``config``."""
    with pytest.raises(Exception) as info:
        create_app(config)
    return info.value


# --- parsing -------------------------------------------------------------------------------------

def test_defaults_of_an_empty_environment():
    s = Settings.from_env({})
    assert s.env == "development"
    assert s.data_dir == Path("instance")
    assert s.issuer == "http://127.0.0.1:5000"
    assert (s.database_url, s.redis_url, s.secret_key) == (None, None, None)
    assert s.finess_check_key is True
    assert (s.lockout_threshold, s.lockout_durations) == (3, (300, 900, 1800, 3600))
    assert s.password_disable_after == 100
    assert (s.session_idle_ttl, s.session_absolute_ttl) == (3600, 4 * 3600)
    assert (s.refresh_idle_ttl, s.refresh_absolute_ttl) == (3600, 4 * 3600)
    assert s.authenticators == ("password",)
    assert s.generated == []
    assert len(s.production_problems()) >= 4


def test_settings_are_read_from_the_environment():
    s = Settings.from_env({
        "IDP_ENV": " Production ", "IDP_ISSUER": "https://idp.example.fr/",
        "IDP_DATA_DIR": "/srv/idp", "IDP_LOCKOUT_DURATIONS": "60, 120,,600",
        "IDP_AUTHENTICATORS": " password , cps ", "IDP_FINESS_CHECK_KEY": "off",
        "IDP_SESSION_IDLE_TTL": "1800", "IDP_LOCKOUT_THRESHOLD": "",
    })
    assert s.env == "production"
    assert s.issuer == "https://idp.example.fr"
    assert s.issuer_is_https
    assert s.data_dir == Path("/srv/idp")
    assert s.lockout_durations == (60, 120, 600)
    assert s.authenticators == ("password", "cps")
    assert s.finess_check_key is False
    assert s.session_idle_ttl == 1800
    assert s.lockout_threshold == 3  # empty means default


@pytest.mark.parametrize("name, value", [
    ("IDP_CODE_TTL", "abc"), ("IDP_LOCKOUT_THRESHOLD", "3.5"), ("IDP_SESSION_IDLE_TTL", "1h"),
    ("IDP_PASSWORD_DISABLE_AFTER", "cent"), ("IDP_ARGON2_MEMORY_KIB", "19 MiB"),
    ("IDP_LOCKOUT_DURATIONS", "300,soon"), ("IDP_FINESS_CHECK_KEY", "maybe"),
    ("IDP_ENV", "staging"),
])
def test_malformed_values_are_refused_by_name(name, value, dirs):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({name: value})
    assert name in str(info.value)
    error = error_of({**dirs, name: value})
    assert isinstance(error, ConfigError) and name in str(error)


# --- production --------------------------------------------------------------------------------

def test_production_with_development_defaults_names_every_problem(dirs, tmp_path):
    error = error_of({**dirs, "IDP_ENV": "production"})
    assert isinstance(error, ConfigError)
    message = str(error)
    for variable in ("IDP_DATABASE_URL", "IDP_REDIS_URL", "IDP_SECRET_KEY", "IDP_ISSUER"):
        assert variable in message, variable
    assert "SQLite" in message and "https" in message
    # Refused before anything was generated.
    assert not (tmp_path / "data" / "secret_key").exists()
    assert not (tmp_path / "keys").exists() or not any((tmp_path / "keys").iterdir())


@pytest.mark.parametrize("setting", sorted(PRODUCTION_PROBLEMS))
def test_production_refuses_each_development_default_alone(production_env, setting):
    value, variable = PRODUCTION_PROBLEMS[setting]
    env = {k: v for k, v in production_env.items() if k != setting}
    if value is not None:
        env[setting] = value
    problems = Settings.from_env(env).production_problems()
    assert len(problems) == 1 and variable in problems[0], problems
    error = error_of(env)
    assert isinstance(error, ConfigError) and variable in str(error)
    others = set(PRODUCTION_PROBLEMS) - {setting}
    assert not any(PRODUCTION_PROBLEMS[o][1] + " " in str(error) for o in others), str(error)


def test_production_starts_when_every_setting_is_set(production_env):
    assert Settings.from_env(production_env).production_problems() == []
    if not production_env["IDP_DATABASE_URL"].endswith("@127.0.0.1:1/idp"):
        app = create_app(production_env)  # a real PostgreSQL test database
    else:
        # Nothing listens there: starting must not need the database (file key store).
        app = create_app({**production_env, "IDP_KEY_STORE": "files"})
    settings = app.config["IDP_SETTINGS"]
    assert settings.env == "production"
    assert settings.generated == [] or all("secret key" not in g for g in settings.generated)


# --- first start ---------------------------------------------------------------------------------

def test_first_start_creates_a_private_secret_and_signing_key(dirs, base_config, tmp_path):
    config = {**dirs, "IDP_REDIS_URL": base_config["IDP_REDIS_URL"],
              "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'first.sqlite3'}"}
    app = create_app(config)
    secret_file = tmp_path / "data" / "secret_key"
    keys_dir = tmp_path / "keys"
    generated = app.config["IDP_SETTINGS"].generated

    assert mode_of(secret_file) == 0o600
    assert secret_file.read_text().strip() == app.config["SECRET_KEY"]
    assert len(app.config["SECRET_KEY"]) >= 32
    pems = sorted(keys_dir.glob("*.pem"))
    assert pems, "no signing key was created"
    assert all(mode_of(p) == 0o600 for p in pems)
    assert any("secret key" in g and str(secret_file) in g for g in generated), generated
    assert any("signing key" in g and str(keys_dir) in g for g in generated), generated

    files = key_files(keys_dir)
    again = create_app(config)
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]
    assert not any("secret key" in g or "signing key" in g
                   for g in again.config["IDP_SETTINGS"].generated)
    assert key_files(keys_dir) == files


def test_a_secret_file_too_short_is_refused_and_kept(dirs, tmp_path):
    secret_file = tmp_path / "data" / "secret_key"
    secret_file.parent.mkdir()
    secret_file.write_text("short\n")
    error = error_of(dirs)
    assert isinstance(error, ConfigError)
    assert str(secret_file) in str(error)
    assert secret_file.read_text() == "short\n"


@pytest.fixture
def existing_keys(base_config, tmp_path):
    """A valid key directory: a copy of the session's (permissions preserved), or, when the
    session keeps its keys in PostgreSQL, the one a first start creates."""
    keys_dir = tmp_path / "keys"
    if Path(base_config["IDP_KEYS_DIR"]).is_dir():
        shutil.copytree(base_config["IDP_KEYS_DIR"], keys_dir)
    else:
        create_app(config_with(keys_dir, base_config, tmp_path / "first-start"))
    assert list(keys_dir.glob("*.pem"))
    return keys_dir


def config_with(keys_dir, base_config, tmp_path):
    return {"IDP_DATA_DIR": str(tmp_path / "data"), "IDP_KEYS_DIR": str(keys_dir),
            "IDP_REDIS_URL": base_config["IDP_REDIS_URL"], "IDP_SECRET_KEY": "t" * 40,
            "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'keys.sqlite3'}"}


def test_existing_keys_start_fine(existing_keys, base_config, tmp_path):
    before = key_files(existing_keys)
    app = create_app(config_with(existing_keys, base_config, tmp_path))
    assert app.test_client().get("/jwks").status_code == 200
    assert key_files(existing_keys) == before


def test_a_corrupt_key_file_stops_the_start_and_is_never_replaced(existing_keys, base_config,
                                                                   tmp_path):
    pem = sorted(existing_keys.glob("*.pem"))[-1]
    pem.write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    before = key_files(existing_keys)
    error = error_of(config_with(existing_keys, base_config, tmp_path))
    assert key_files(existing_keys) == before
    assert mode_of(pem) == 0o600
    assert pem.stem in str(error)
    assert type(error).__name__ == "KeyStoreError", repr(error)


def test_a_key_file_readable_by_others_is_refused(existing_keys, base_config, tmp_path):
    pem = sorted(existing_keys.glob("*.pem"))[0]
    pem.chmod(0o644)
    error = error_of(config_with(existing_keys, base_config, tmp_path))
    assert type(error).__name__ == "KeyStoreError", repr(error)
    assert "chmod 600" in str(error) and str(pem) in str(error)
    assert mode_of(pem) == 0o644
