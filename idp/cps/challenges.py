"""Challenges the card signs: random, bound to one login session, single-use, short-lived.

Redis keeps only a hash of each challenge, with the session binding it was
issued for. Taking it back is one atomic GETDEL: a challenge is consumed by
its first use, even a failed one, and two concurrent posts cannot both use it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

import redis

CHALLENGE_BYTES = 32
KEY_PREFIX = "idp:cps:challenge:"


def _key(challenge: bytes) -> str:
    return KEY_PREFIX + hashlib.sha256(challenge).hexdigest()


def encode(raw: bytes) -> str:
    """Base64url without padding, as the page and the agent carry it."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(text: str) -> bytes | None:
    """The bytes of a base64url challenge or signature, or None when malformed."""
    text = (text or "").strip()
    if not text or len(text) > 2048:
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


class ChallengeStore:
    """Issue and consume challenges in Redis."""

    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self.redis = client
        self.ttl = ttl

    def issue(self, binding: str) -> bytes:
        """A new random challenge usable once, by the session holding ``binding``."""
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        self.redis.set(_key(challenge), hashlib.sha256(binding.encode()).hexdigest(), ex=self.ttl)
        return challenge

    def consume(self, challenge: bytes, binding: str) -> bool:
        """True once for a live challenge issued to ``binding``; it is gone afterwards."""
        stored = self.redis.getdel(_key(challenge))
        if stored is None:
            return False
        expected = hashlib.sha256(binding.encode()).hexdigest().encode()
        return hmac.compare_digest(stored if isinstance(stored, bytes) else stored.encode(), expected)
