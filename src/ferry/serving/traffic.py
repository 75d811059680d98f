"""Which version answers a request, and whether the other one answers a copy.

A request's sticky key (header ``X-Ferry-Key``, else its request id) hashes to one of 10,000
buckets; the candidate takes the buckets below its share. The hash does not depend on the
step, so a key that reached the candidate at 5 % stays on it at 25 %, 50 % and 100 %, and every
replica routes a key the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

PRIMARY = "primary"
CANDIDATE = "candidate"
VARIANTS = (PRIMARY, CANDIDATE)
BUCKETS = 10_000


def bucket(key: str) -> int:
    """The key's bucket in ``0 .. BUCKETS - 1`` (stable across processes and versions)."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


@dataclass(frozen=True)
class Route:
    """The variant that answers, and whether the other answers a copy off the request path."""

    answer: str
    compare: bool


SINGLE = Route(PRIMARY, compare=False)


@dataclass(frozen=True)
class Split:
    """A rollout's traffic rule: ``mode`` (canary, shadow, ab) at ``percent``.

    canary and ab: the candidate answers ``percent`` of keys, and the primary answers a copy of
    each of those, so disagreement is measured on the same rows. shadow: the primary answers
    everyone, and the candidate answers a copy of ``percent`` of the requests.
    """

    mode: str
    percent: int

    def route(self, key: str) -> Route:
        """The route of one request."""
        if self.percent <= 0:
            return SINGLE
        inside = bucket(key) < self.percent * (BUCKETS // 100)
        if self.mode == "shadow":
            return Route(PRIMARY, compare=inside)
        return Route(CANDIDATE, compare=True) if inside else SINGLE
