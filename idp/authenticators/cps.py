"""The CPS card authenticator: a validated card certificate and, for the agent path, its proof.

Two channels reach :meth:`CpsAuthenticator.verify`, told apart by the state
the login pages kept (never by what the browser posted):

- ``agent``: the page had a challenge signed by the card through the local
  card agent; the signature proves possession of the card's key (and, the
  card being PIN-protected, knowledge of the PIN);
- ``mtls``: a trusted TLS proxy verified the client certificate during the
  handshake, which is the proof of possession.

Validation, identity extraction and account mapping are separate modules
(:mod:`idp.cps`). A valid card of nobody we know is not an error: the result
carries the identity so that the pages can offer account creation.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from redis.exceptions import RedisError

from idp.accounts import audit, store
from idp.accounts.lockout import LockoutService
from idp.authenticators import register
from idp.authenticators.base import Authenticator, Challenge, LoginContext, LoginResult, Outcome
from idp.config import ConfigError
from idp.cps import challenges, errors, mapping
from idp.cps.crl import CrlCache
from idp.cps.errors import CardRejected
from idp.cps.identity import CardIdentity, identity_from_certificate
from idp.cps.validation import CertificateValidator, load_bundle, load_certificate, verify_signature
from idp.models import Account

UNLOCKED = ("Votre compte était bloqué après plusieurs mots de passe erronés : votre connexion "
            "par carte CPS l'a débloqué. Vous pouvez de nouveau utiliser votre mot de passe.")
UNAVAILABLE = ("La connexion par carte CPS est momentanément indisponible. Veuillez réessayer "
               "dans quelques minutes.")


@dataclass(frozen=True)
class CardLoginResult(LoginResult):
    """A login result that also names the card holder (for account creation)."""

    identity: CardIdentity | None = None
    unlocked: bool = False


@register("cps")
class CpsAuthenticator(Authenticator):
    """CPS smart card: certificate chain, revocation, proof of possession, RPPS/ADELI mapping."""

    name = "cps"
    label = "Identification par carte CPS"
    acr = "eidas3"
    amr = ("sc", "pin", "hwk", "mfa")

    def __init__(self, validator: CertificateValidator, challenge_store: challenges.ChallengeStore,
                 lockout: LockoutService) -> None:
        self.validator = validator
        self.challenges = challenge_store
        self.lockout = lockout

    @classmethod
    def from_app(cls, app) -> CpsAuthenticator:
        """Build from the app's settings: trust anchors, CRL cache, Redis challenges."""
        settings = app.config["IDP_SETTINGS"]
        if settings.cps_trust_anchors is None:
            raise ConfigError("the cps login method needs IDP_CPS_TRUST_ANCHORS (a PEM bundle)")
        try:
            anchors = load_bundle(settings.cps_trust_anchors)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"IDP_CPS_TRUST_ANCHORS unusable: {exc}") from None
        crls = CrlCache(settings.cps_crls, refresh=settings.cps_crl_refresh,
                        grace=settings.cps_crl_grace)
        return cls(CertificateValidator(anchors, crls),
                   challenges.ChallengeStore(app.extensions["redis"], settings.cps_challenge_ttl),
                   app.extensions["idp"].lockout)

    def begin(self, context: LoginContext) -> Challenge:
        """A fresh challenge for the session binding in ``context.state``."""
        raw = self.challenges.issue(context.state["binding"])
        return Challenge(self.name, ("certificate", "signature", "challenge"),
                         {"challenge": challenges.encode(raw)})

    def _result(self, outcome: Outcome, **kwargs) -> CardLoginResult:
        return CardLoginResult(outcome, self.name, **kwargs)

    def verify(self, context: LoginContext, response: Mapping[str, str]) -> CardLoginResult:
        """Validate the card and its proof; map it to an account."""
        try:
            if context.state.get("channel") == "mtls":
                cert = load_certificate(response.get("certificate", ""))
            else:
                cert = self._proven_certificate(context, response)
            self.validator.validate(cert)
            identity = identity_from_certificate(cert)
            return self._login(identity)
        except CardRejected as exc:
            audit.record("card_login_failure", None, self.name, reason=exc.code)
            return self._result(Outcome.FAILURE, message=exc.message, http_status=400)
        except RedisError:
            return self._result(Outcome.UNAVAILABLE, message=UNAVAILABLE, http_status=503)

    def _proven_certificate(self, context: LoginContext, response: Mapping[str, str]):
        if not response.get("certificate") and not response.get("signature"):
            raise errors.reject(errors.NO_CERTIFICATE)
        challenge = challenges.decode(response.get("challenge", ""))
        signature = challenges.decode(response.get("signature", ""))
        if signature is None:
            raise errors.reject(errors.MALFORMED)
        # Consumed before anything else is checked: a challenge serves one attempt only.
        if challenge is None or not self.challenges.consume(challenge, context.state["binding"]):
            raise errors.reject(errors.CHALLENGE)
        cert = load_certificate(response.get("certificate", ""))
        verify_signature(cert, challenge, signature)
        return cert

    def _login(self, identity: CardIdentity) -> CardLoginResult:
        account = mapping.find_account(identity)
        if account is None:
            return self._result(Outcome.FAILURE, identity=identity)
        if not account.active:
            reason = errors.PENDING if mapping.awaiting_validation(account) else errors.INACTIVE
            audit.record("card_login_failure", account.id, self.name, reason=reason[0])
            return self._result(Outcome.DISABLED, account_id=account.id, identity=identity,
                                message=reason[1], http_status=403)
        unlocked = self._unlock(account)
        audit.record("card_login", account.id, self.name)
        return self._result(Outcome.SUCCESS, account_id=account.id, acr=self.acr, amr=self.amr,
                            auth_time=int(time.time()), identity=identity, unlocked=unlocked,
                            message=UNLOCKED if unlocked else None)

    def _unlock(self, account: Account) -> bool:
        """Clear the password lockout of this account only; True if it was locked or disabled."""
        subject = self.lockout.subject_for_account(account.id)
        was_locked = self.lockout.is_locked(subject) or account.password_disabled
        self.lockout.clear(subject)
        if account.password_disabled:
            account.password_disabled = False
        store.reset_failures(account)
        if was_locked:
            audit.record("account_unlocked", account.id, self.name)
        return was_locked
