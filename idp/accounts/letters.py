"""The provisional password sent by post, its PDF letter and the print-and-mail providers.

The password exists in clear only in the letter: it is never shown, e-mailed
nor logged. The default provider writes the PDF to an outbox directory (mode
0600) for printing; a real print-and-mail service plugs in through
``IDP_LETTER_PROVIDER=package.module:Class`` (a class with ``send(letter)``,
built with ``from_settings(settings)`` when it has one).
"""

from __future__ import annotations

import importlib
import os
import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from fpdf import FPDF

from idp.accounts.notifications import PARIS, SUPPORT
from idp.accounts.password_policy import password_problems

# No 0/O, 1/l/I: the password is read on paper and typed by hand.
_ALPHABETS = ("ABCDEFGHJKMNPQRSTUVWXYZ", "abcdefghijkmnpqrstuvwxyz", "23456789", "#$%&+=?@")
PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class Letter:
    """A letter ready to post: a reference, the recipient's address lines and the PDF."""

    reference: str
    address: tuple[str, ...]
    pdf: bytes


class LetterProvider(Protocol):
    """Prints and posts letters."""

    def send(self, letter: Letter) -> str:
        """Hand the letter over; return where it went (a path, a tracking id)."""


class OutboxProvider:
    """Writes each letter as a PDF file into a directory, readable by the service only."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def send(self, letter: Letter) -> str:
        """Write ``<reference>.pdf``; return its path."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.directory / f"{letter.reference}.pdf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(letter.pdf)
        return str(path)


def provider_from_settings(settings) -> LetterProvider:
    """The configured provider: the outbox, or a class named ``module:Class``."""
    if settings.letter_provider == "outbox":
        return OutboxProvider(settings.letter_outbox)
    module_name, _, class_name = settings.letter_provider.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls.from_settings(settings) if hasattr(cls, "from_settings") else cls()


def provisional_password() -> str:
    """A random password that satisfies the policy, easy to copy from paper."""
    while True:
        chars = [secrets.choice(alphabet) for alphabet in _ALPHABETS]
        everything = "".join(_ALPHABETS)
        chars += [secrets.choice(everything) for _ in range(PASSWORD_LENGTH - len(chars))]
        secrets.SystemRandom().shuffle(chars)
        password = "".join(chars)
        if not password_problems(password):
            return password


def _latin1(text: str) -> str:
    """Text the PDF core fonts can print (Latin-1): other characters lose their accents."""
    text = text.replace("’", "'").replace("œ", "oe").replace("Œ", "OE")
    if all(ord(c) < 256 for c in text):
        return text
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if ord(c) < 256 and not unicodedata.combining(c))


def render(address: list[str], finess: str, password: str, deadline: datetime,
           days: int) -> bytes:
    """The A4 letter: the address in the window of a DL envelope, then the password."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 12)
    pdf.set_xy(20, 15)
    pdf.cell(0, 6, "L'Assurance Maladie - amelipro")
    pdf.set_font("Helvetica", "", 9)
    pdf.set_xy(20, 21)
    pdf.multi_cell(80, 4.5, _latin1(f"Assistance technique amelipro\n{SUPPORT}"))
    # French window envelopes (DL, window on the right): 110 mm from the left, 50 mm down.
    pdf.set_font("Helvetica", "", 11)
    pdf.set_xy(110, 50)
    pdf.multi_cell(85, 5.5, _latin1("\n".join(address[:6])))
    pdf.set_xy(20, 100)
    pdf.set_font("Helvetica", "", 10)
    today = datetime.now(PARIS).strftime("%d/%m/%Y")
    pdf.cell(0, 6, _latin1(f"Le {today}"), align="R")
    pdf.set_xy(20, 110)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, _latin1("Objet : votre mot de passe provisoire amelipro"))
    pdf.set_font("Helvetica", "", 11)
    pdf.set_xy(20, 122)
    body = (
        "Madame, Monsieur,\n\n"
        f"Le compte amelipro de votre établissement (N° FINESS {finess}) a été créé. Voici "
        "votre mot de passe provisoire, à utiliser avec votre N° FINESS comme identifiant :")
    pdf.multi_cell(170, 6, _latin1(body))
    pdf.set_font("Courier", "B", 18)
    pdf.set_x(20)
    pdf.cell(170, 16, password, border=1, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.set_x(20)
    pdf.ln(4)
    rest = (
        f"Ce mot de passe est valable {days} jours, jusqu'au "
        f"{deadline.strftime('%d/%m/%Y à %H:%M')}. Connectez-vous avant : lors de cette première "
        "connexion, vous "
        "choisirez votre mot de passe définitif.\n\n"
        "Passé ce délai, ce mot de passe ne fonctionnera plus : contactez l'assistance "
        f"technique amelipro au {SUPPORT} pour recevoir un nouveau courrier.\n\n"
        "Ne communiquez jamais ce mot de passe : l'Assurance Maladie ne vous le demandera "
        "jamais. Si vous n'êtes pas à l'origine de la création de ce compte, contactez "
        f"l'assistance technique au {SUPPORT}.\n\n"
        "L'Assurance Maladie")
    pdf.set_x(20)
    pdf.multi_cell(170, 6, _latin1(rest))
    return bytes(pdf.output())


def send_provisional_letter(settings, address: list[str], finess: str, password: str,
                            expires_at: int) -> str:
    """Render the letter and hand it to the configured provider; return where it went."""
    deadline = datetime.fromtimestamp(expires_at, PARIS)
    reference = f"finess-{finess}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    days = round(settings.provisional_password_ttl / 86400)
    letter = Letter(reference, tuple(address), render(address, finess, password, deadline, days))
    return provider_from_settings(settings).send(letter)
