"""Password hashing with Argon2id, and the constant-cost path for unknown accounts."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# Hashing cost is bounded by the policy's maximum length (see password_policy).
_MAX_VERIFY_LENGTH = 1024


@cache
def hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    """The Argon2id hasher for these parameters (stored in each hash too)."""
    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost,
                          parallelism=parallelism, hash_len=32, salt_len=16, type=Type.ID)


@cache
def dummy_hash(memory_kib: int, time_cost: int, parallelism: int) -> str:
    """A hash of a random value, verified for unknown accounts so timing matches."""
    import secrets

    return hasher(memory_kib, time_cost, parallelism).hash(secrets.token_hex(16))


class PasswordService:
    """Hash and verify passwords with the configured Argon2id parameters."""

    def __init__(self, memory_kib: int, time_cost: int, parallelism: int) -> None:
        self.params = (memory_kib, time_cost, parallelism)
        self._hasher = hasher(*self.params)

    def hash(self, password: str) -> str:
        """A new Argon2id hash of ``password``."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; a missing hash costs the same as a real one."""
        if len(password) > _MAX_VERIFY_LENGTH:
            password = password[:_MAX_VERIFY_LENGTH]
            stored_hash = None  # too long to be ours: burn the same time, then fail
        try:
            return self._hasher.verify(stored_hash or dummy_hash(*self.params), password) \
                and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with other parameters than today's."""
        return self._hasher.check_needs_rehash(stored_hash)
