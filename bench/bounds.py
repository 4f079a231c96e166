"""Reference bounds per core: Argon2id verifications with our parameters, RS256 signatures."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from argon2 import PasswordHasher, Type
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# An ID token's signing input is about this long (header and claims, base64url).
SIGNING_INPUT = b"a" * 600


def _per_cpu_second(work, seconds: float) -> float:
    """How many times ``work`` runs per second of this thread's CPU time (one core)."""
    count, wall, cpu = 0, time.monotonic(), time.thread_time()
    while time.monotonic() - wall < seconds:
        work()
        count += 1
    return count / (time.thread_time() - cpu)


def python_bounds(argon2: dict[str, int], seconds: float) -> dict[str, float]:
    """Our stack: argon2-cffi verifications and cryptography (OpenSSL) RS256 signatures."""
    from idp.signing.material import RSA_BITS

    hasher = PasswordHasher(time_cost=argon2["t"], memory_cost=argon2["m"],
                            parallelism=argon2["p"], type=Type.ID)
    stored = hasher.hash("bench-password")
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    return {
        "argon2_per_core": _per_cpu_second(lambda: hasher.verify(stored, "bench-password"),
                                           seconds),
        "rs256_per_core": _per_cpu_second(
            lambda: key.sign(SIGNING_INPUT, padding.PKCS1v15(), hashes.SHA256()), seconds),
    }


def node_bounds(node_dir: Path, argon2: dict[str, int], seconds: float) -> dict[str, float]:
    """The peer's stack: npm argon2 and node:crypto."""
    from idp.signing.material import RSA_BITS

    out = subprocess.run(["node", "bounds.mjs", str(seconds), str(argon2["m"]), str(argon2["t"]),
                          str(argon2["p"]), str(RSA_BITS)], cwd=node_dir, capture_output=True, text=True,
                         check=True, timeout=seconds * 2 + 60)
    return json.loads(out.stdout)
