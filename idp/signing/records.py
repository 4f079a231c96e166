"""What is known of a signing key besides its material: algorithm, state and dates."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

NEXT, CURRENT, RETIRED = "next", "current", "retired"
STATES = (NEXT, CURRENT, RETIRED)


@dataclass(frozen=True)
class KeyRecord:
    """One key's metadata; ``pem`` is its (possibly encrypted) private key."""

    kid: str
    alg: str
    state: str
    created_at: float  # sub-second: the publication delay is counted from it
    activated_at: int | None = None
    retired_at: int | None = None
    remove_after: int | None = None
    source: str = "generated"
    pem: bytes = b""

    def metadata(self) -> dict:
        """Everything but the private key, for listings and metadata files."""
        data = asdict(self)
        data.pop("pem")
        return data

    def evolve(self, **changes) -> KeyRecord:
        """A copy with some fields changed."""
        return replace(self, **changes)
