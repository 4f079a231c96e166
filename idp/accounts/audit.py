"""Audit events of accounts: who did what, how, from where. Never a secret."""

from __future__ import annotations

from flask import has_request_context, request

from idp.extensions import db
from idp.models import AuditEvent

# Event names and the French wording the account page shows (seed « Mes derniers événements »).
EVENT_LABELS = {
    "login_success": "Connexion par identifiant et mot de passe",
    "login_failure": "Échec de connexion par identifiant et mot de passe",
    "account_locked": "Blocage du compte",
    "password_disabled": "Mot de passe désactivé après de trop nombreux échecs",
    "logout": "Déconnexion",
    "card_login": "Connexion par carte CPS",
    "card_login_failure": "Échec de connexion par carte CPS",
    "account_unlocked": "Déblocage du compte",
    "account_created": "Création du compte avec la carte CPS",
    "email_validated": "Validation de l'adresse e-mail",
    "centre_account_created": "Création du compte de l'établissement",
    "provisional_password_sent": "Envoi d'un mot de passe provisoire par courrier",
    "reset_requested": "Demande de réinitialisation de mot de passe",
    "password_reset": "Réinitialisation de mot de passe",
    "password_changed": "Modification du mot de passe",
    "email_change_requested": "Demande de modification e-mail",
    "email_changed": "Modification e-mail",
    "settings_changed": "Modification des paramètres de compte",
    "enrollment_added": "Inscription en centre de santé par votre CPAM",
    "enrollment_ended": "Fin d'inscription en centre de santé par votre CPAM",
}


def record(event: str, account_id: int | None, method: str | None = None,
           commit: bool = True, **details) -> AuditEvent:
    """Store an audit event with the request's IP and user agent."""
    ip = user_agent = None
    if has_request_context():
        ip = request.remote_addr
        user_agent = (request.user_agent.string or "")[:300] or None
    item = AuditEvent(account_id=account_id, event=event, method=method, ip=ip,
                      user_agent=user_agent, details=details)
    db.session.add(item)
    if commit:
        db.session.commit()
    return item


def recent(account_id: int, limit: int = 20) -> list[AuditEvent]:
    """The newest events of an account first."""
    return (AuditEvent.query.filter_by(account_id=account_id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit).all())
