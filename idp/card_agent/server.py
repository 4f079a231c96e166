"""``idp-card-agent``: the workstation component that lets the login page use the CPS card.

A small HTTP server on 127.0.0.1 only. It answers the pages of the configured
IdP origins only (CORS, with ``Access-Control-Allow-Private-Network`` for the
preflight a public https page sends to a loopback address), and only when the
Host header is the loopback address itself (no DNS rebinding). Protocol:
docs/card-agent.md. The PIN is read from the request body, handed to the card
and forgotten; it is never logged.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from idp.card_agent.card import CardError, CpsReader
from idp.cps.errors import CardRejected
from idp.cps.identity import identity_from_certificate

log = logging.getLogger("idp-card-agent")

DEFAULT_PORT = 24680
MAX_BODY = 4096
PROTOCOL_VERSION = 1

STATUS_CODES = {"invalid_request": 400, "wrong_pin": 403, "origin_not_allowed": 403,
                "not_found": 404, "no_card": 409, "card_blocked": 423, "card_error": 502,
                "no_reader": 503, "pcsc_unavailable": 503}
MESSAGES = {"invalid_request": "Demande incorrecte envoyée au composant de lecture de carte.",
            "origin_not_allowed": "Ce site n'est pas autorisé à utiliser votre carte CPS.",
            "not_found": "Demande inconnue du composant de lecture de carte.",
            "bad_pin_format": "Le code PIN de votre carte comporte 4 à 8 chiffres."}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _holder(certificate) -> str | None:
    try:
        return identity_from_certificate(certificate).display_name or None
    except CardRejected:
        return None


class AgentServer(ThreadingHTTPServer):
    """The HTTP server, holding the reader and the allowed origins."""

    daemon_threads = True

    def __init__(self, port: int, reader: CpsReader, origins: frozenset[str]) -> None:
        super().__init__(("127.0.0.1", port), AgentHandler)
        self.reader = reader
        self.origins = origins
        bound = self.server_address[1]
        self.hosts = frozenset({f"127.0.0.1:{bound}", f"localhost:{bound}"})
        # One card operation at a time: two pages must not interleave APDUs.
        self.card_lock = threading.Lock()


class AgentHandler(BaseHTTPRequestHandler):
    """Endpoints: GET /status, POST /sign, and the CORS preflights."""

    server: AgentServer
    server_version = "idp-card-agent"

    def log_message(self, format: str, *args) -> None:
        """Log the request line and status only (never a body: it may hold the PIN)."""
        log.info("%s %s", self.address_string(), format % args)

    def _allowed_origin(self) -> str | None:
        origin = self.headers.get("Origin")
        if self.headers.get("Host") not in self.server.hosts:
            return None
        return origin if origin in self.server.origins else None

    def _send(self, status: int, body: dict | None, origin: str | None, extra=()) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        self.send_response(status)
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
        self.send_header("Vary", "Origin")
        self.send_header("Cache-Control", "no-store")
        for name, value in extra:
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, code: str, origin: str | None, message: str | None = None, **fields) -> None:
        self._send(STATUS_CODES[code], {"error": code, "message": message or MESSAGES[code],
                                        **fields}, origin)

    def _card_error(self, exc: CardError, origin: str) -> None:
        fields = {} if exc.tries_left is None else {"tries_left": exc.tries_left}
        self._error(exc.code, origin, exc.message, **fields)

    def do_OPTIONS(self) -> None:
        """CORS preflight, private network access included, for allowed origins only."""
        origin = self._allowed_origin()
        if origin is None:
            self._send(403, None, None)
            return
        extra = [("Access-Control-Allow-Methods", "GET, POST"),
                 ("Access-Control-Allow-Headers", "Content-Type"),
                 ("Access-Control-Max-Age", "600")]
        if self.headers.get("Access-Control-Request-Private-Network") == "true":
            extra.append(("Access-Control-Allow-Private-Network", "true"))
        self._send(204, None, origin, extra)

    def do_GET(self) -> None:
        """GET /status: reader, card presence and holder name."""
        origin = self._allowed_origin()
        if origin is None:
            self._error("origin_not_allowed", None)
            return
        if self.path != "/status":
            self._error("not_found", origin)
            return
        try:
            with self.server.card_lock:
                status = self.server.reader.status()
        except CardError as exc:
            self._card_error(exc, origin)
            return
        self._send(200, {"agent": "idp-card-agent", "version": PROTOCOL_VERSION,
                         "reader": status.reader, "card_present": status.card_present,
                         "holder": _holder(status.certificate) if status.certificate else None},
                   origin)

    def do_POST(self) -> None:
        """POST /sign {challenge, pin}: the certificate and the card's signature of the challenge."""
        origin = self._allowed_origin()
        if origin is None:
            self._error("origin_not_allowed", None)
            return
        if self.path != "/sign":
            self._error("not_found", origin)
            return
        request = self._json_body()
        if request is None:
            self._error("invalid_request", origin)
            return
        challenge, pin = request
        if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
            self._error("invalid_request", origin, MESSAGES["bad_pin_format"])
            return
        try:
            with self.server.card_lock:
                certificate, signature = self.server.reader.sign(challenge, pin)
        except CardError as exc:
            self._card_error(exc, origin)
            return
        pem = base64.encodebytes(certificate).decode()
        self._send(200, {"certificate": f"-----BEGIN CERTIFICATE-----\n{pem}-----END CERTIFICATE-----\n",
                         "signature": _b64url(signature)}, origin)

    def _json_body(self) -> tuple[bytes, str] | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if not 0 < length <= MAX_BODY:
            return None
        try:
            data = json.loads(self.rfile.read(length))
            text = data["challenge"]
            challenge = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            pin = data["pin"]
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if not isinstance(pin, str) or not 32 <= len(challenge) <= 1024:
            return None
        return challenge, pin


def make_server(origins: list[str], port: int = DEFAULT_PORT, reader_filter: str = "") -> AgentServer:
    """The agent server bound to 127.0.0.1:``port`` (0: any free port)."""
    return AgentServer(port, CpsReader(reader_filter), frozenset(o.rstrip("/") for o in origins))


def main(argv: list[str] | None = None) -> None:
    """Console script ``idp-card-agent``."""
    parser = argparse.ArgumentParser(prog="idp-card-agent",
                                     description="Lecteur de carte CPS pour la connexion amelipro.")
    parser.add_argument("--port", type=int, default=int(os.environ.get(
        "IDP_CARD_AGENT_PORT", DEFAULT_PORT)), help="loopback port (default %(default)s)")
    parser.add_argument("--origin", action="append", default=None,
                        help="origin of an IdP allowed to use the card, e.g. https://idp.example "
                             "(repeatable; default: $IDP_CARD_AGENT_ORIGINS, comma-separated)")
    parser.add_argument("--reader", default="", help="use the first reader whose name contains this")
    args = parser.parse_args(argv)
    origins = args.origin or [o.strip() for o in os.environ.get(
        "IDP_CARD_AGENT_ORIGINS", "").split(",") if o.strip()]
    if not origins:
        parser.error("no allowed origin: give --origin or set IDP_CARD_AGENT_ORIGINS")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = make_server(origins, args.port, args.reader)
    log.info("listening on http://127.0.0.1:%d for %s", server.server_address[1], ", ".join(origins))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
