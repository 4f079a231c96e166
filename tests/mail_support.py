"""A real SMTP server (aiosmtpd) for the tests, and the mailbox of what it received."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from idp.accounts import notifications


class Mailbox:
    """Messages received by the test SMTP server."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.lock = threading.Lock()
        self.event = threading.Event()
        self.url = ""

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        """Keep the message."""
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content,
                                                          policy=email.policy.default))
        self.event.set()
        return "250 OK"

    def clear(self) -> None:
        """Forget every message (once the e-mails being sent have left)."""
        notifications.wait_sent()
        with self.lock:
            self.messages.clear()
        self.event.clear()

    def received(self) -> list[email.message.Message]:
        """Every message so far, once the e-mails being sent have left."""
        notifications.wait_sent()
        with self.lock:
            return list(self.messages)

    def to(self, address: str) -> list[email.message.Message]:
        """Messages sent to ``address``."""
        return [m for m in self.received() if m["To"] == address]

    def last_link(self, timeout: float = 5) -> str:
        """The first link of the newest message's text part."""
        deadline = time.time() + timeout
        while not self.messages and time.time() < deadline:
            self.event.wait(0.1)
        assert self.messages, "no e-mail received"
        match = re.search(r"https?://\S+", body(self.messages[-1]))
        assert match, "no link in the e-mail"
        return match.group(0)


def body(message, kind: str = "plain") -> str:
    """The decoded text or HTML part of a message."""
    part = next(p for p in message.walk() if p.get_content_type() == f"text/{kind}")
    return part.get_payload(decode=True).decode()


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{port}"
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    """The SMTP server's mailbox, emptied for this test."""
    smtp_server.clear()
    return smtp_server
