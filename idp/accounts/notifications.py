"""The French e-mails of the account lifecycle (text and HTML), sent off the request path.

Sending happens in a background thread: the time a request takes must not tell
whether an e-mail left (no account enumeration through the reset form), and a
slow mail server must not slow logins down. Messages never carry a password.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, render_template

from idp.mail import send_mail
from idp.models import Account

log = logging.getLogger(__name__)
PARIS = ZoneInfo("Europe/Paris")
SUPPORT = "0811 709 710"

_pending: list[threading.Thread] = []
_pending_lock = threading.Lock()


def paris_time(moment: datetime) -> str:
    """« 27/12/2018 à 12:15 », in Paris time."""
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


def in_background(job, *args) -> None:
    """Run ``job(*args)`` in a thread with the app context; failures are logged, not raised."""
    app = current_app._get_current_object()

    def run() -> None:
        with app.app_context():
            try:
                job(*args)
            except Exception:  # a lost e-mail must be logged, never break a request
                log.exception("background e-mail job %s failed", getattr(job, "__name__", job))

    thread = threading.Thread(target=run, name="idp-mail", daemon=True)
    with _pending_lock:
        _pending[:] = [t for t in _pending if t.is_alive()]
        _pending.append(thread)
    thread.start()


def wait_sent(timeout: float = 10) -> None:
    """Wait until the e-mails handed over so far have been sent (tests, shutdown)."""
    # Jobs may start other jobs (a reset job sends its e-mail): look again until none is left.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _pending_lock:
            alive = [t for t in _pending if t.is_alive()]
        if not alive:
            return
        for thread in alive:
            thread.join(max(0.0, deadline - time.monotonic()))


def deliver(to: str, subject: str, greeting: str, paragraphs: list[str],
            link: str | None = None, link_label: str | None = None) -> None:
    """Render the message in both forms and send it in the background."""
    context = dict(greeting=greeting, paragraphs=paragraphs, link=link, link_label=link_label,
                   support=SUPPORT)
    in_background(send_mail, to, f"amelipro : {subject}",
                  render_template("account_mail.txt", **context),
                  render_template("account_mail.html", **context))


def _greeting(account: Account) -> str:
    return f"Bonjour {account.display_name}," if account.display_name else "Bonjour,"


def centre_validation(account: Account, link: str, hours: int) -> None:
    """The centre's new account: validate the address (the password comes by post)."""
    deliver(account.email, "validez votre adresse e-mail", _greeting(account), [
        "Le compte amelipro de votre établissement vient d'être créé avec cette adresse e-mail.",
        f"Validez votre adresse e-mail en ouvrant le lien ci-dessous (valable {hours} heures).",
        "Votre mot de passe provisoire vous est envoyé par courrier postal à l'adresse de "
        "l'établissement ; il n'est jamais envoyé par e-mail.",
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message."],
        link, "Valider l'adresse e-mail")


def reset_link(account: Account, link: str, minutes: int) -> None:
    """The password reset link."""
    deliver(account.email, "réinitialisation de votre mot de passe", _greeting(account), [
        "Vous avez demandé la réinitialisation du mot de passe de votre compte amelipro.",
        f"Ouvrez le lien ci-dessous pour choisir un nouveau mot de passe. Il est valable "
        f"{minutes} minutes et ne peut servir qu'une fois.",
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de "
        "passe actuel reste valable."],
        link, "Choisir un nouveau mot de passe")


def password_changed(account: Account, reset: bool) -> None:
    """Tell the holder the password was changed (by reset or on the account page)."""
    how = "réinitialisé" if reset else "modifié"
    deliver(account.email, f"votre mot de passe a été {how}", _greeting(account), [
        f"Le mot de passe de votre compte amelipro a été {how} le "
        f"{paris_time(datetime.now(PARIS))}.",
        "Toutes vos sessions ouvertes ont été fermées." if reset else
        "Vos autres sessions ouvertes ont été fermées.",
        f"Si vous n'êtes pas à l'origine de cette modification, contactez immédiatement "
        f"l'assistance technique au {SUPPORT}."])


def email_change_link(account: Account, new_email: str, link: str, hours: int) -> None:
    """Ask the new address to confirm itself."""
    deliver(new_email, "validez votre nouvelle adresse e-mail", _greeting(account), [
        "Vous avez demandé à utiliser cette adresse e-mail pour votre compte amelipro.",
        f"Validez-la en ouvrant le lien ci-dessous (valable {hours} heures). Tant qu'elle n'est "
        "pas validée, votre ancienne adresse reste utilisée."],
        link, "Valider la nouvelle adresse e-mail")


def email_change_notice(account: Account, new_email: str) -> None:
    """Warn the old address that a change was asked for (without revealing the new one)."""
    deliver(account.email, "modification de votre adresse e-mail", _greeting(account), [
        "Une modification de l'adresse e-mail de votre compte amelipro a été demandée. Elle "
        "prendra effet lorsque la nouvelle adresse aura été validée.",
        f"Si vous n'êtes pas à l'origine de cette demande, changez votre mot de passe et "
        f"contactez l'assistance technique au {SUPPORT}."])


def login_notice(account: Account, method_label: str) -> None:
    """The amelipro notification at each login, unless switched off."""
    if not (current_app.config["IDP_SETTINGS"].login_notifications
            and account.login_notifications and account.email):
        return
    deliver(account.email, "nouvelle connexion à votre compte", _greeting(account), [
        f"Une connexion à votre compte amelipro a eu lieu le {paris_time(datetime.now(PARIS))} "
        f"({method_label.lower()}).",
        f"Si ce n'est pas vous, changez votre mot de passe et contactez l'assistance technique "
        f"au {SUPPORT}.",
        "Vous pouvez désactiver ces notifications dans « Mon compte », rubrique « Paramètres de "
        "compte »."])
