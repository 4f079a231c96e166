"""The password authenticator: identifier (e-mail, numéro AM or FINESS) and password.

Rules (seed « Blocage de compte », hardened): the third consecutive failure
locks the account whatever identifier was typed; while locked the password is
not evaluated; unknown identifiers get exactly the same answers, after the
same work (a dummy hash is verified); Redis down means no password login.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from redis.exceptions import RedisError

from idp.accounts import audit, store
from idp.accounts.identifiers import IdentifierError, parse_login_identifier
from idp.accounts.lockout import Attempt, LockoutService
from idp.accounts.passwords import PasswordService
from idp.authenticators import register
from idp.authenticators.base import Authenticator, Challenge, LoginContext, LoginResult, Outcome
from idp.models import Account

# Longer input is refused before any work: Argon2 cost grows with it.
MAX_PASSWORD_INPUT = 1024

WRONG = "Identifiant ou mot de passe incorrect."
UNAVAILABLE = ("La connexion par mot de passe est momentanément indisponible. "
               "Veuillez réessayer dans quelques minutes ou connectez-vous avec votre carte CPS.")
AMBIGUOUS = ("Cette adresse e-mail est associée à plusieurs comptes : identifiez-vous avec "
             "votre N° Assurance Maladie ou votre N° FINESS.")
AMBIGUOUS_NUMBER = ("Ce numéro correspond à plusieurs comptes : connectez-vous avec votre adresse "
                    "e-mail ou contactez l'assistance technique au 0811 709 710.")
DISABLED = ("Votre mot de passe a été désactivé après de trop nombreux essais. Réinitialisez-le "
            "avec « Mot de passe oublié » ou connectez-vous avec votre carte CPS.")

PROVISIONAL_EXPIRED = ("Votre mot de passe provisoire a expiré (la date limite figure sur le "
                       "courrier). Pour recevoir un nouveau courrier, contactez l'assistance "
                       "technique amelipro au 0811 709 710.")


def locked_message(minutes: int) -> str:
    """The seed's lock banner."""
    return (f"Votre compte est bloqué. Veuillez réessayer dans {minutes} min "
            "ou connectez-vous avec votre carte CPS.")


@register("password")
class PasswordAuthenticator(Authenticator):
    """Identifier + password, with Redis lockout and a database failure count."""

    name = "password"
    label = "Identification"
    acr = "eidas1"
    amr = ("pwd",)

    def __init__(self, passwords: PasswordService, lockout: LockoutService, *,
                 check_finess_key: bool, disable_after: int) -> None:
        self.passwords = passwords
        self.lockout = lockout
        self.check_finess_key = check_finess_key
        self.disable_after = disable_after

    @classmethod
    def from_app(cls, app) -> PasswordAuthenticator:
        """Build from the app's settings and shared services."""
        services = app.extensions["idp"]
        settings = app.config["IDP_SETTINGS"]
        return cls(services.passwords, services.lockout,
                   check_finess_key=settings.finess_check_key,
                   disable_after=settings.password_disable_after)

    def begin(self, context: LoginContext) -> Challenge:
        """A password login asks for two fields and keeps no state."""
        return Challenge(self.name, ("identifier", "password"))

    def _result(self, outcome: Outcome, **kwargs) -> LoginResult:
        return LoginResult(outcome, self.name, **kwargs)

    def verify(self, context: LoginContext, response: Mapping[str, str]) -> LoginResult:
        """Check identifier and password under the lockout rules."""
        raw_identifier = response.get("identifier") or ""
        password = response.get("password") or ""
        errors = {}
        try:
            parsed = parse_login_identifier(raw_identifier, check_finess_key=self.check_finess_key)
        except IdentifierError as exc:
            errors["identifier"] = str(exc)
        if not password:
            errors["password"] = "Saisissez votre mot de passe."
        elif len(password) > MAX_PASSWORD_INPUT:
            errors["password"] = "Le mot de passe saisi est trop long."
        if errors:
            return self._result(Outcome.INVALID, field_errors=errors, http_status=400)
        try:
            account = store.find_by_identifier(parsed)
        except store.AmbiguousIdentifier:
            message = AMBIGUOUS if parsed.kinds == ("email",) else AMBIGUOUS_NUMBER
            return self._result(Outcome.INVALID, field_errors={"identifier": message},
                                http_status=400)
        try:
            return self._check(account, parsed.value, password)
        except RedisError:
            return self._result(Outcome.UNAVAILABLE, message=UNAVAILABLE, http_status=503)

    def _check(self, account: Account | None, identifier: str, password: str) -> LoginResult:
        lockout = self.lockout
        subject = (lockout.subject_for_account(account.id) if account
                   else lockout.subject_for_unknown(identifier))
        attempt = lockout.begin(subject)
        if not attempt.allowed:
            return self._result(Outcome.LOCKED, message=locked_message(attempt.locked_minutes))
        if self._disabled(account, subject):
            return self._result(Outcome.DISABLED, message=DISABLED)
        if self.passwords.verify(account.password_hash if account else None, password):
            if account.provisional_expires_at and account.provisional_expires_at <= time.time():
                # The right password, but a letter too old: no login, no failure either.
                self.lockout.succeed(subject)
                return self._result(Outcome.DISABLED, message=PROVISIONAL_EXPIRED)
            return self._success(account, subject, password)
        return self._failure(account, subject, attempt)

    def _disabled(self, account: Account | None, subject: str) -> bool:
        if account is not None:
            return account.password_disabled or account.password_hash is None
        return self.lockout.unknown_failures(subject) >= self.disable_after

    def _success(self, account: Account, subject: str, password: str) -> LoginResult:
        self.lockout.succeed(subject)
        store.reset_failures(account)
        if self.passwords.needs_rehash(account.password_hash):
            # The password is known right now only: upgrade the stored parameters.
            account.password_hash = self.passwords.hash(password)
        audit.record("login_success", account.id, self.name)
        return self._result(Outcome.SUCCESS, account_id=account.id, acr=self.acr,
                            amr=self.amr, auth_time=int(time.time()))

    def _failure(self, account: Account | None, subject: str, attempt: Attempt) -> LoginResult:
        locked_ms = self.lockout.fail(subject, attempt)
        account_id = account.id if account else None
        if account is not None:
            total = store.add_failure(account.id)
            if total >= self.disable_after and not account.password_disabled:
                account.password_disabled = True
                audit.record("password_disabled", account.id, self.name, commit=False)
        else:
            self.lockout.count_unknown_failure(subject)
        audit.record("login_failure", account_id, self.name, commit=not locked_ms)
        if locked_ms:
            audit.record("account_locked", account_id, self.name, minutes=locked_ms // 60000)
            return self._result(Outcome.LOCKED,
                                message=locked_message(Attempt(False, 0, locked_ms).locked_minutes))
        return self._result(Outcome.FAILURE, message=WRONG)
