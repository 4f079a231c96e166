"""Talking to a CPS card over PC/SC with pyscard: read the certificate, verify the PIN, sign.

Every operation opens its own connection and resets the card when done, so the
PIN verification never outlives the signature it was given for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from smartcard.Exceptions import CardConnectionException, NoCardException, SmartcardException
from smartcard.pcsc.PCSCExceptions import BaseSCardException
from smartcard.scard import SCARD_RESET_CARD
from smartcard.System import readers as pcsc_readers

AID = bytes.fromhex("E828BD080F8025000001FF0010")
CERT_FILE_ID = bytes.fromhex("C000")
PIN_REFERENCE = 0x01
AUTH_KEY_REFERENCE = 0x81
# DER prefix of a SHA-256 DigestInfo (RFC 8017 §9.2 note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
READ_CHUNK = 0xE0


class CardError(Exception):
    """A card operation failed; ``code`` is stable, the message is French, for the user."""

    def __init__(self, code: str, message: str, tries_left: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.tries_left = tries_left


NO_READER = CardError("no_reader", "Aucun lecteur de carte n'est détecté. Branchez votre lecteur "
                      "de cartes CPS puis réessayez.")
NO_CARD = CardError("no_card", "Aucune carte n'est insérée dans le lecteur. Insérez votre carte "
                    "CPS puis réessayez.")
BLOCKED = CardError("card_blocked", "Votre carte CPS est bloquée après trois codes PIN erronés. "
                    "Débloquez-la avec votre code de déblocage (PUK) ou contactez l'ANS.", 0)
NO_PCSC = CardError("pcsc_unavailable", "Le service de cartes à puce de votre poste (PC/SC) ne "
                    "répond pas. Redémarrez votre poste ou contactez votre support informatique.")
UNREADABLE = CardError("card_error", "La carte insérée n'a pas pu être lue. Vérifiez qu'il "
                       "s'agit bien de votre carte CPS, retirez-la et insérez-la de nouveau.")


def wrong_pin(tries_left: int) -> CardError:
    """The French message of a wrong PIN, with the tries left."""
    plural = "essais" if tries_left > 1 else "essai"
    return CardError("wrong_pin", f"Code PIN incorrect. Il vous reste {tries_left} {plural} "
                     "avant le blocage de votre carte.", tries_left)


@dataclass(frozen=True)
class CardStatus:
    """What the agent can say about the reader and the card."""

    reader: str | None
    card_present: bool
    certificate: x509.Certificate | None = None


def _check(sw1: int, sw2: int) -> None:
    if (sw1, sw2) == (0x90, 0x00):
        return
    if sw1 == 0x63 and sw2 & 0xF0 == 0xC0:
        raise BLOCKED if sw2 & 0x0F == 0 else wrong_pin(sw2 & 0x0F)
    if (sw1, sw2) == (0x69, 0x83):
        raise BLOCKED
    raise UNREADABLE


class CpsReader:
    """The card in the first reader whose name contains ``reader_filter`` (any reader if empty)."""

    def __init__(self, reader_filter: str = "") -> None:
        self.reader_filter = reader_filter

    def _reader(self):
        try:
            found = [r for r in pcsc_readers() if self.reader_filter in str(r)]
        except (SmartcardException, BaseSCardException):  # pcscd not running or not answering
            raise NO_PCSC from None
        if not found:
            raise NO_READER
        return found[0]

    def _connect(self):
        reader = self._reader()
        connection = reader.createConnection()
        try:
            connection.connect(disposition=SCARD_RESET_CARD)
        except (NoCardException, CardConnectionException):
            self._close(connection)
            raise NO_CARD from None
        return connection

    @staticmethod
    def _close(connection) -> None:
        """Reset the card (see _connect) and release the PC/SC context now, not at collection."""
        try:
            connection.disconnect()
            connection.release()
        except SmartcardException:
            pass  # the card or pcscd went away: nothing left to release

    @staticmethod
    def _send(connection, apdu: bytes) -> bytes:
        try:
            data, sw1, sw2 = connection.transmit(list(apdu))
        except CardConnectionException:
            raise NO_CARD from None
        _check(sw1, sw2)
        return bytes(data)

    def _select(self, connection) -> None:
        try:
            self._send(connection, bytes([0x00, 0xA4, 0x04, 0x00, len(AID)]) + AID)
        except CardError as exc:
            raise (exc if exc.code == "no_card" else UNREADABLE) from None

    def _read_certificate(self, connection) -> bytes:
        self._send(connection, bytes([0x00, 0xA4, 0x02, 0x0C, 2]) + CERT_FILE_ID)
        head = self._send(connection, bytes([0x00, 0xB0, 0, 0, 4]))
        if len(head) < 4 or head[0] != 0x30 or head[1] != 0x82:
            raise UNREADABLE
        total = 4 + int.from_bytes(head[2:4], "big")
        der = b""
        while len(der) < total:
            size = min(READ_CHUNK, total - len(der))
            chunk = self._send(connection, bytes([0x00, 0xB0, len(der) >> 8, len(der) & 0xFF, size]))
            if not chunk:
                raise UNREADABLE
            der += chunk
        return der

    def status(self) -> CardStatus:
        """Reader, card presence and the card's certificate (no PIN needed)."""
        reader = self._reader()
        try:
            connection = self._connect()
        except CardError as exc:
            if exc.code == "no_card":
                return CardStatus(str(reader), False)
            raise
        try:
            self._select(connection)
            der = self._read_certificate(connection)
        finally:
            self._close(connection)
        try:
            return CardStatus(str(reader), True, x509.load_der_x509_certificate(der))
        except ValueError:
            raise UNREADABLE from None

    def sign(self, challenge: bytes, pin: str) -> tuple[bytes, bytes]:
        """Verify ``pin`` then sign SHA-256(``challenge``); return (certificate DER, signature)."""
        connection = self._connect()
        try:
            self._select(connection)
            der = self._read_certificate(connection)
            padded = pin.encode().ljust(8, b"\xff")
            self._send(connection, bytes([0x00, 0x20, 0x00, PIN_REFERENCE, 8]) + padded)
            self._send(connection, bytes([0x00, 0x22, 0x41, 0xA4, 6, 0x80, 0x01, 0x02,
                                          0x84, 0x01, AUTH_KEY_REFERENCE]))
            digest_info = SHA256_DIGEST_INFO + hashlib.sha256(challenge).digest()
            signature = self._send(connection, bytes([0x00, 0x88, 0x00, 0x00, len(digest_info)])
                                   + digest_info + b"\x00")
        finally:
            self._close(connection)
        return der, signature
