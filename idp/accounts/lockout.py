"""Password lockout counters in Redis, atomic under concurrency.

Each password attempt first takes a numbered slot with one atomic script. Only
the first ``threshold`` slots of a streak are allowed to verify the password;
later ones are refused without any hash being computed, so that N parallel
wrong passwords cost at most ``threshold`` verifications. The failure of the
slot numbered ``threshold`` locks the subject for a duration that grows with
each lock (a success resets everything).

A *subject* is ``a:<account id>`` for a known account (whatever identifier was
typed, one counter per account) or ``u:<keyed hash>`` for an unknown
identifier, which is treated the same way so that the answers cannot tell the
two apart.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass

import redis

# How long a streak of failures and the lock count are remembered.
STREAK_TTL_MS = 24 * 3600 * 1000
LOCK_COUNT_TTL_MS = 7 * 24 * 3600 * 1000
# Failures of an unknown identifier, to mimic the database counter of real accounts.
UNKNOWN_TOTAL_TTL_S = 30 * 24 * 3600

# Slots past the threshold are refused while the attempts in flight finish; they
# announce the duration the coming lock will have (computed here, atomically).
_BEGIN = """
local ttl = redis.call('PTTL', KEYS[2])
if ttl > 0 then return {0, ttl} end
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if n > tonumber(ARGV[1]) then
  local locks = tonumber(redis.call('GET', KEYS[3]) or '0')
  local index = math.min(locks + 1, #ARGV - 2)
  return {0, tonumber(ARGV[2 + index])}
end
return {n, 0}
"""

_FAIL = """
local threshold = tonumber(ARGV[1])
if tonumber(ARGV[2]) < threshold then return 0 end
local locks = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
local index = math.min(locks, #ARGV - 3)
local duration = tonumber(ARGV[3 + index])
redis.call('SET', KEYS[2], '1', 'PX', duration)
redis.call('DEL', KEYS[1])
return duration
"""


@dataclass(frozen=True)
class Attempt:
    """The outcome of taking a slot: allowed to verify, or locked for some time."""

    allowed: bool
    number: int = 0
    locked_ms: int = 0

    @property
    def locked_minutes(self) -> int:
        """Minutes left, rounded up, as the banner shows them (at least 1)."""
        return max(1, math.ceil(self.locked_ms / 60000))


class LockoutService:
    """Take attempt slots, record failures and successes, clear locks."""

    def __init__(self, client: redis.Redis, secret: str, threshold: int,
                 durations_s: tuple[int, ...]) -> None:
        self.redis = client
        self.secret = secret.encode()
        self.threshold = threshold
        self.durations_ms = [d * 1000 for d in durations_s]
        # Scripts are sent by SHA once Redis knows them (EVALSHA), by source otherwise.
        self._begin = redis.client.Script(None, _BEGIN.encode())
        self._fail = redis.client.Script(None, _FAIL.encode())

    def subject_for_account(self, account_id: int) -> str:
        """The counter subject of a known account."""
        return f"a:{account_id}"

    def subject_for_unknown(self, identifier: str) -> str:
        """The counter subject of an identifier that names no account (keyed, not stored)."""
        digest = hmac.new(self.secret, identifier.encode(), hashlib.sha256).hexdigest()[:32]
        return f"u:{digest}"

    @staticmethod
    def _keys(subject: str) -> list[str]:
        return [f"idp:pwd:streak:{subject}", f"idp:pwd:lock:{subject}",
                f"idp:pwd:locks:{subject}"]

    def begin(self, subject: str) -> Attempt:
        """Take the next attempt slot, or say how long the subject stays locked."""
        number, ttl = self._begin(keys=self._keys(subject),
                                  args=[self.threshold, STREAK_TTL_MS, *self.durations_ms],
                                  client=self.redis)
        if number == 0:
            return Attempt(False, 0, ttl)
        return Attempt(True, number)

    def fail(self, subject: str, attempt: Attempt) -> int:
        """Record the failure of ``attempt``; return the lock duration in ms if it locked."""
        return int(self._fail(keys=self._keys(subject),
                              args=[self.threshold, attempt.number, LOCK_COUNT_TTL_MS,
                                    *self.durations_ms], client=self.redis))

    def succeed(self, subject: str) -> None:
        """A successful login: the streak and the lock history start again."""
        self.redis.delete(*self._keys(subject))

    clear = succeed  # an unlock (card login, reset, admin) forgets the same state

    def is_locked(self, subject: str) -> bool:
        """True while the subject is locked (for pages that only show state)."""
        return self.redis.pttl(self._keys(subject)[1]) > 0

    def count_unknown_failure(self, subject: str) -> int:
        """Count a failure of an unknown identifier; return its total so far."""
        key = f"idp:pwd:total:{subject}"
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, UNKNOWN_TOTAL_TTL_S)
        return int(pipe.execute()[0])

    def unknown_failures(self, subject: str) -> int:
        """Failures counted so far for an unknown identifier."""
        return int(self.redis.get(f"idp:pwd:total:{subject}") or 0)
