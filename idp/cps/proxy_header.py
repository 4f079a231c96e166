"""The client certificate a TLS-terminating proxy verified and forwarded in a header.

The header is honoured only when the TCP peer is one of ``IDP_TRUSTED_PROXIES``;
from anyone else it is ignored, as if absent. Its value is nginx's
``$ssl_client_escaped_cert``: the PEM, URL-escaped.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from urllib.parse import unquote

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR networks, e.g. ``127.0.0.1``, ``10.0.0.0/8``, ``::1``."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def is_trusted(peer: str | None, trusted: tuple[Network, ...]) -> bool:
    """True when the direct peer address is a trusted proxy."""
    if not peer or not trusted:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in trusted)


def forwarded_certificate(environ: Mapping, header: str, trusted: tuple[Network, ...]) -> str | None:
    """The forwarded PEM, or None when absent, empty or not sent by a trusted proxy."""
    # REMOTE_ADDR is the TCP peer itself, never a value a client can set.
    if not is_trusted(environ.get("REMOTE_ADDR"), trusted):
        return None
    value = environ.get("HTTP_" + header.upper().replace("-", "_"), "")
    value = unquote(value).strip()
    return value or None
