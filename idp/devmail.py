"""The demo's mailbox: an embedded SMTP server and the page listing what it received.

DEVELOPMENT ONLY (``idp demo``): messages are stored as ``.eml`` files in
``IDP_DEV_MAILBOX`` and shown on ``/dev/courriels``; production refuses the
setting (see idp.config).
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import time
from pathlib import Path

from flask import Blueprint, current_app, render_template

bp = Blueprint("devmail", __name__, url_prefix="/dev/courriels")
SHOWN = 50


class _Handler:
    """aiosmtpd handler writing each message to a file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        """Store the message."""
        name = f"{time.time_ns()}.eml"
        (self.directory / name).write_bytes(envelope.content)
        return "250 OK"


def start_server(directory: Path) -> str:
    """Start the SMTP server on a free loopback port; return its ``smtp://`` URL."""
    from aiosmtpd.controller import Controller  # a demo/test dependency only

    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    Controller(_Handler(directory), hostname="127.0.0.1", port=port).start()
    return f"smtp://127.0.0.1:{port}"


def _read(path: Path) -> dict:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(("plain",))
    text = body.get_content() if body else ""
    return {"to": message["To"], "subject": message["Subject"], "date": message["Date"] or "",
            "text": text, "links": re.findall(r"https?://\S+", text)}


@bp.get("")
def inbox():
    """The messages received, newest first."""
    directory = current_app.config["IDP_SETTINGS"].dev_mailbox
    files = sorted(directory.glob("*.eml"), reverse=True)[:SHOWN] if directory.exists() else []
    return render_template("account_devmail.html", messages=[_read(p) for p in files])


def init_app(app) -> None:
    """Serve the page only when IDP_DEV_MAILBOX is set (never in production)."""
    if app.config["IDP_SETTINGS"].dev_mailbox is not None:
        app.register_blueprint(bp)
