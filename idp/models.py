"""Database models: accounts and their identifiers, clients, codes, tokens, audit."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.oauth.mixins import OAuthClientMixin, OAuthCodeMixin, OAuthTokenMixin


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the models use."""
    return datetime.now(UTC)


def epoch() -> int:
    """Now, in whole epoch seconds (the unit of every token time)."""
    return int(time.time())


def new_subject() -> str:
    """A stable, opaque subject identifier: never an e-mail nor a national number."""
    return uuid.uuid4().hex


class Account(db.Model):
    """A login account: a health centre (acting through its director) or a professional."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sub: Mapped[str] = mapped_column(String(64), unique=True, default=new_subject)
    kind: Mapped[str] = mapped_column(String(16))  # "centre" | "ps"
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    # Centre accounts: the establishment's name (raison sociale).
    organisation_name: Mapped[str | None] = mapped_column(String(200))
    # TRE_G15 profession code of a professional (10 médecin, 60 infirmier, ...).
    profession_code: Mapped[str | None] = mapped_column(String(4))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Consecutive password failures, kept here (not in Redis) so that a Redis
    # restart cannot reset the "password disabled after N failures" rule.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    password_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set while the password is the provisional one sent by post (epoch seconds it stops
    # working); the first login with it forces the choice of a new password.
    provisional_expires_at: Mapped[int | None] = mapped_column(Integer)
    # « Paramètres de compte »: an e-mail at each login (amelipro rule), unless switched off.
    login_notifications: Mapped[bool] = mapped_column(Boolean, default=True,
                                                      server_default="1")

    identifiers: Mapped[list[Identifier]] = relationship(
        back_populates="account", cascade="all, delete-orphan")

    def identifier_values(self, kind: str) -> list[str]:
        """The values of this account's identifiers of one kind."""
        return [i.value for i in self.identifiers if i.kind == kind]

    @property
    def display_name(self) -> str:
        """How pages name the holder."""
        if self.kind == "centre" and self.organisation_name:
            return self.organisation_name
        return " ".join(x for x in (self.given_name, self.family_name) if x) or self.email or ""


class Identifier(db.Model):
    """A unique login or national identifier of an account (numéro AM, FINESS, RPPS, ADELI)."""

    __tablename__ = "identifiers"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "am" | "finess" | "rpps" | "adeli"
    value: Mapped[str] = mapped_column(String(32))

    account: Mapped[Account] = relationship(back_populates="identifiers")


class Client(db.Model, OAuthClientMixin):
    """A registered relying party."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True,
                                           default=lambda: secrets.token_urlsafe(18))
    name: Mapped[str] = mapped_column(String(100))
    # Keyed fast hash of the secret (see idp.oauth.clients): secrets are random and
    # long, so a password-hash-like cost would only slow the token endpoint down.
    secret_hash: Mapped[str | None] = mapped_column(String(128))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(Text)
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    # OpenID Connect Dynamic Client Registration metadata: the ID token algorithm (RS256 if unset).
    id_token_signed_response_alg: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Consent(db.Model):
    """Scopes an account has granted to a (non first-party) client."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("account_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuthorizationCode(db.Model, OAuthCodeMixin):
    """A single-use authorization code (stored hashed) and the login it carries."""

    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    auth_time: Mapped[int] = mapped_column(Integer)
    acr: Mapped[str | None] = mapped_column(String(32))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    sid: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[int | None] = mapped_column(Integer)
    # Set when someone presents the code again (the tokens issued from it are revoked).
    replayed_at: Mapped[int | None] = mapped_column(Integer)

    account: Mapped[Account] = relationship()


class Token(db.Model, OAuthTokenMixin):
    """One access token and its refresh token; rotation links rows of a family.

    Times are epoch seconds: they are compared in SQL on SQLite and PostgreSQL alike.
    """

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[int | None] = mapped_column(Integer, index=True)
    scope: Mapped[str] = mapped_column(Text)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    issued_at: Mapped[int] = mapped_column(Integer, default=epoch)
    access_expires_at: Mapped[int] = mapped_column(Integer)
    # Absolute end of the family (fixed at the first code exchange) and idle end of this row.
    refresh_expires_at: Mapped[int | None] = mapped_column(Integer)
    refresh_idle_expires_at: Mapped[int | None] = mapped_column(Integer)
    refresh_used_at: Mapped[int | None] = mapped_column(Integer)
    access_revoked_at: Mapped[int | None] = mapped_column(Integer)
    revoked_at: Mapped[int | None] = mapped_column(Integer)
    auth_time: Mapped[int] = mapped_column(Integer)
    acr: Mapped[str | None] = mapped_column(String(32))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    sid: Mapped[str | None] = mapped_column(String(64))

    account: Mapped[Account] = relationship()


class AuditEvent(db.Model):
    """A security event of an account: login success or failure, lock, logout..."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    method: Mapped[str | None] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class SigningKey(db.Model):
    """A signing key of the database key store (clusters). The PEM is encrypted at rest."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(8))  # next | current | retired
    created_at: Mapped[float] = mapped_column(Float)  # sub-second (publication delay)
    activated_at: Mapped[int | None] = mapped_column(Integer)
    retired_at: Mapped[int | None] = mapped_column(Integer)
    remove_after: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), default="generated")
    pem: Mapped[str] = mapped_column(Text)
    # Bumped at each change, so that other instances notice without reading the PEMs.
    revision: Mapped[int] = mapped_column(Integer, default=0)


# --- Account lifecycle: referentials, enrollments, single-use links, back-office ---------------


class Establishment(db.Model):
    """An establishment of the public FINESS extract (one ``structureet`` line)."""

    __tablename__ = "ref_establishments"

    finess: Mapped[str] = mapped_column(String(9), primary_key=True)
    finess_ej: Mapped[str | None] = mapped_column(String(9))
    name: Mapped[str] = mapped_column(String(100))
    long_name: Mapped[str | None] = mapped_column(String(200))
    complement: Mapped[str | None] = mapped_column(String(100))
    distribution: Mapped[str | None] = mapped_column(String(100))
    street_number: Mapped[str | None] = mapped_column(String(10))
    street_type: Mapped[str | None] = mapped_column(String(10))
    street: Mapped[str | None] = mapped_column(String(100))
    street_repeat: Mapped[str | None] = mapped_column(String(10))
    locality: Mapped[str | None] = mapped_column(String(100))
    postal_line: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(3))
    department_label: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(4), index=True)
    category_label: Mapped[str | None] = mapped_column(String(100))
    updated_on: Mapped[str | None] = mapped_column(String(10))

    def address_lines(self) -> list[str]:
        """The postal address, line by line, as it goes on an envelope."""
        street = " ".join(x for x in (self.street_number, self.street_repeat, self.street_type,
                                      self.street) if x)
        return [x for x in (self.distribution, street, self.locality, self.postal_line) if x]


class Professional(db.Model):
    """A professional of the public RPPS extract (identity part of its lines)."""

    __tablename__ = "ref_professionals"

    national_id: Mapped[str] = mapped_column(String(12), primary_key=True)  # 8+RPPS or 0+ADELI
    id_type: Mapped[str] = mapped_column(String(1))
    identifier: Mapped[str] = mapped_column(String(11), index=True)
    exercise_civility_code: Mapped[str | None] = mapped_column(String(4))  # DR, PR...
    exercise_civility_label: Mapped[str | None] = mapped_column(String(40))  # Docteur...
    civility_code: Mapped[str | None] = mapped_column(String(4))  # M, MME
    civility_label: Mapped[str | None] = mapped_column(String(40))
    family_name: Mapped[str] = mapped_column(String(100), index=True)
    given_name: Mapped[str | None] = mapped_column(String(100))
    profession_code: Mapped[str | None] = mapped_column(String(4))
    profession_label: Mapped[str | None] = mapped_column(String(100))


class ProfessionalActivity(db.Model):
    """One activity (practice site) of a professional in the RPPS extract."""

    __tablename__ = "ref_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Digest of the fields that tell activities apart: re-imports update, never duplicate.
    key: Mapped[str] = mapped_column(String(40), unique=True)
    national_id: Mapped[str] = mapped_column(String(12), index=True)
    profession_code: Mapped[str | None] = mapped_column(String(4))
    skill_code: Mapped[str | None] = mapped_column(String(10))
    skill_label: Mapped[str | None] = mapped_column(String(150))
    mode_code: Mapped[str | None] = mapped_column(String(2))
    mode_label: Mapped[str | None] = mapped_column(String(60))
    finess_site: Mapped[str | None] = mapped_column(String(9), index=True)
    finess_ej: Mapped[str | None] = mapped_column(String(9))
    structure_id: Mapped[str | None] = mapped_column(String(20))
    site_name: Mapped[str | None] = mapped_column(String(200))
    street_number: Mapped[str | None] = mapped_column(String(10))
    street_repeat: Mapped[str | None] = mapped_column(String(10))
    street_type: Mapped[str | None] = mapped_column(String(40))
    street: Mapped[str | None] = mapped_column(String(150))
    distribution: Mapped[str | None] = mapped_column(String(100))
    cedex_office: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    town: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(3))
    department_label: Mapped[str | None] = mapped_column(String(60))
    sector_code: Mapped[str | None] = mapped_column(String(8))
    sector_label: Mapped[str | None] = mapped_column(String(100))

    def street_line(self) -> str:
        """Number, repetition index, street type and name."""
        return " ".join(x for x in (self.street_number, self.street_repeat, self.street_type,
                                    self.street) if x)


class Enrollment(db.Model):
    """A salaried professional enrolled by the CPAM (CIS) in a centre de santé."""

    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The professional, by national identifier: enrolment comes before the account exists.
    person_kind: Mapped[str] = mapped_column(String(8))  # "rpps" | "adeli" | "am"
    person_id: Mapped[str] = mapped_column(String(11), index=True)
    finess: Mapped[str] = mapped_column(String(9), index=True)
    profession_code: Mapped[str] = mapped_column(String(4))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_by: Mapped[str | None] = mapped_column(String(64))


class AccountToken(db.Model):
    """A single-use link sent by e-mail (reset, e-mail validation or change), stored hashed."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # "reset" | "validate" | "email_change"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The address a link validates (the new one for a change).
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[int] = mapped_column(Integer, default=epoch)
    expires_at: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[int | None] = mapped_column(Integer)


class AdminAccount(db.Model):
    """A CPAM adviser (CIS) of the back-office: separate from professionals' accounts."""

    __tablename__ = "admin_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # "conseiller" | "lecteur"
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
