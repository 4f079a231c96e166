"""A virtual CPS card attached to ``vsmartcard-vpcd``, so that pcscd sees it in a reader.

The card answers ISO 7816-4 APDUs in the spirit of a CPS3 (IAS-ECC applet):

- SELECT the application by AID (``00 A4 04 00``), then the certificate file
  by id (``00 A4 02 0C 02 C0 00``);
- READ BINARY (``00 B0``) of the authentication certificate (DER);
- VERIFY (``00 20 00 01``) of the PIN, padded with ``FF`` to 8 bytes; 3 tries,
  then blocked (``69 83``); an empty VERIFY asks the tries left (``63 Cx``);
- MSE SET (``00 22 41 A4``) choosing the authentication key, then INTERNAL
  AUTHENTICATE (``00 88 00 00``) with a DigestInfo: the card pads it
  (PKCS #1 v1.5) and signs it with its RSA key, only after a correct PIN.

vpcd protocol (vsmartcard): the card connects to the reader's TCP port; every
message is a 2-byte big-endian length and a payload. A 1-byte payload is a
control: 0 power off, 1 power on, 2 reset, 4 "send your ATR".
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

AID = bytes.fromhex("E828BD080F8025000001FF0010")
CERT_FILE_ID = bytes.fromhex("C000")
PIN_REFERENCE = 0x01
AUTH_KEY_REFERENCE = 0x81
PIN_TRIES = 3
# A plausible ATR (T=1); pcscd only needs a well-formed one.
ATR = bytes.fromhex("3BDF18FF81F1FE43003F03834D494641524533362E3030")
VPCD_PORT = 35963

OK = b"\x90\x00"
SW_WRONG_LENGTH = b"\x67\x00"
SW_SECURITY = b"\x69\x82"
SW_BLOCKED = b"\x69\x83"
SW_CONDITIONS = b"\x69\x85"
SW_FILE_NOT_FOUND = b"\x6a\x82"
SW_WRONG_P1P2 = b"\x6b\x00"
SW_INS = b"\x6d\x00"
SW_CLA = b"\x6e\x00"


@dataclass
class VirtualCps:
    """The card's state and its APDU interpreter (pure: no I/O)."""

    certificate_der: bytes
    private_key: rsa.RSAPrivateKey
    pin: str
    tries_left: int = PIN_TRIES
    _selected_app: bool = field(default=False, repr=False)
    _selected_file: bool = field(default=False, repr=False)
    _pin_ok: bool = field(default=False, repr=False)
    _key_set: bool = field(default=False, repr=False)

    def reset(self) -> None:
        """Power cycle: the selection and the PIN status are lost, the try counter is not."""
        self._selected_app = self._selected_file = self._pin_ok = self._key_set = False

    def process(self, apdu: bytes) -> bytes:
        """Answer one command APDU with its response APDU (data + status word)."""
        if len(apdu) < 4:
            return SW_WRONG_LENGTH
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        data = body[1:1 + body[0]] if len(body) > 1 else b""
        if cla != 0x00:
            return SW_CLA
        handler = {0xA4: self._select, 0xB0: self._read_binary, 0x20: self._verify,
                   0x22: self._mse_set, 0x88: self._internal_authenticate}.get(ins)
        if handler is None:
            return SW_INS
        return handler(p1, p2, data, body)

    def _select(self, p1: int, p2: int, data: bytes, body: bytes) -> bytes:
        if p1 == 0x04:
            self._selected_app = data == AID
            self._selected_file = False
            return OK if self._selected_app else SW_FILE_NOT_FOUND
        if p1 == 0x02 and self._selected_app and data == CERT_FILE_ID:
            self._selected_file = True
            return OK
        return SW_FILE_NOT_FOUND

    def _read_binary(self, p1: int, p2: int, data: bytes, body: bytes) -> bytes:
        if not self._selected_file:
            return SW_CONDITIONS
        offset = (p1 << 8) | p2
        wanted = (body[0] or 256) if len(body) == 1 else 256
        if offset > len(self.certificate_der):
            return SW_WRONG_P1P2
        return self.certificate_der[offset:offset + wanted] + OK

    def _verify(self, p1: int, p2: int, data: bytes, body: bytes) -> bytes:
        if not self._selected_app or p2 != PIN_REFERENCE:
            return SW_CONDITIONS
        if self.tries_left == 0:
            return SW_BLOCKED
        if not data:
            return OK if self._pin_ok else bytes([0x63, 0xC0 | self.tries_left])
        if len(data) != 8:
            return SW_WRONG_LENGTH
        if data.rstrip(b"\xff") == self.pin.encode():
            self.tries_left = PIN_TRIES
            self._pin_ok = True
            return OK
        self.tries_left -= 1
        self._pin_ok = False
        return SW_BLOCKED if self.tries_left == 0 else bytes([0x63, 0xC0 | self.tries_left])

    def _mse_set(self, p1: int, p2: int, data: bytes, body: bytes) -> bytes:
        if (p1, p2) != (0x41, 0xA4) or bytes([0x84, 0x01, AUTH_KEY_REFERENCE]) not in data:
            return SW_WRONG_P1P2
        self._key_set = True
        return OK

    def _internal_authenticate(self, p1: int, p2: int, data: bytes, body: bytes) -> bytes:
        if not (self._key_set and self._pin_ok):
            return SW_SECURITY
        size = self.private_key.key_size // 8
        if not data or len(data) > size - 11:
            return SW_WRONG_LENGTH
        # PKCS #1 v1.5 type 1 padding of the DigestInfo, then the raw RSA operation.
        block = b"\x00\x01" + b"\xff" * (size - len(data) - 3) + b"\x00" + data
        numbers = self.private_key.private_numbers()
        signature = pow(int.from_bytes(block, "big"), numbers.d, numbers.public_numbers.n)
        return signature.to_bytes(size, "big") + OK


class VpcdConnection:
    """Attach a :class:`VirtualCps` to vpcd; run in a thread until :meth:`remove`."""

    def __init__(self, card: VirtualCps, host: str = "127.0.0.1", port: int = VPCD_PORT) -> None:
        self.card = card
        self.sock = socket.create_connection((host, port), timeout=5)
        self.sock.settimeout(None)
        self._thread = threading.Thread(target=self._serve, name="virtual-cps", daemon=True)

    def start(self) -> VpcdConnection:
        """Insert the card (start answering the reader)."""
        self._thread.start()
        return self

    def wait(self) -> None:
        """Block until the reader side closes the connection."""
        self._thread.join()

    def remove(self) -> None:
        """Take the card out of the reader."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(timeout=5)

    def _recv_exact(self, size: int) -> bytes | None:
        chunks = b""
        while len(chunks) < size:
            chunk = self.sock.recv(size - len(chunks))
            if not chunk:
                return None
            chunks += chunk
        return chunks

    def _serve(self) -> None:
        try:
            while True:
                header = self._recv_exact(2)
                if header is None:
                    return
                message = self._recv_exact(struct.unpack(">H", header)[0])
                if message is None:
                    return
                answer = self._answer(message)
                if answer is not None:
                    self.sock.sendall(struct.pack(">H", len(answer)) + answer)
        except OSError:
            return

    def _answer(self, message: bytes) -> bytes | None:
        if len(message) == 1:
            if message[0] == 4:
                return ATR
            self.card.reset()  # power off, power on and reset all lose the volatile state
            return None
        return self.card.process(message)


def load_test_card(directory, name: str, pin: str | None = None) -> VirtualCps:
    """The virtual card of one card of a test PKI (see :mod:`idp.devtools.test_pki`)."""
    manifest = json.loads((Path(directory) / "manifest.json").read_text())
    entry = manifest["cards"][name]
    cert = x509.load_pem_x509_certificate(Path(entry["certificate"]).read_bytes())
    key = serialization.load_pem_private_key(Path(entry["key"]).read_bytes(), None)
    return VirtualCps(cert.public_bytes(serialization.Encoding.DER), key, pin or manifest["pin"])


def attach_test_card(directory, name: str, pin: str | None = None,
                     host: str = "127.0.0.1", port: int = VPCD_PORT) -> VpcdConnection:
    """Insert a test PKI card into the vpcd reader; return the live connection."""
    return VpcdConnection(load_test_card(directory, name, pin), host, port).start()
