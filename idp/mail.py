"""Sending the IdP's e-mails through SMTP (``IDP_SMTP_URL``).

Without ``IDP_SMTP_URL`` (development default) nothing is sent and only the
recipient and subject are logged: messages carry single-use links, which never
belong in a log. ``idp demo`` runs a local SMTP server and shows its mailbox.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 10


def send_mail(to: str, subject: str, text: str, html: str | None = None) -> None:
    """Send one message (plain text, with an HTML alternative when given)."""
    settings = current_app.config["IDP_SETTINGS"]
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    if not settings.smtp_url:
        log.warning("IDP_SMTP_URL unset: e-mail %r to %s not sent", subject, to)
        return
    url = urlsplit(settings.smtp_url)
    if url.scheme not in ("smtp", "smtps"):
        raise ValueError("IDP_SMTP_URL must start with smtp:// or smtps://")
    context = ssl.create_default_context()
    if url.scheme == "smtps":
        server = smtplib.SMTP_SSL(url.hostname, url.port or 465, timeout=SMTP_TIMEOUT,
                                  context=context)
    else:
        server = smtplib.SMTP(url.hostname, url.port or 25, timeout=SMTP_TIMEOUT)
    with server:
        if parse_qs(url.query).get("starttls", ["0"])[0] in ("1", "true", "yes"):
            server.starttls(context=context)
        if url.username:
            server.login(unquote(url.username), unquote(url.password or ""))
        server.send_message(message)
