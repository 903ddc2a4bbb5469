"""Per-client rate limit on HTTP tool calls: a token bucket per client address.

Each address may make `burst` calls at once and `per_minute` a minute after that. A call over the
limit is refused with a tool error that says when to retry, before the tool runs (so it changes
nothing). stdio has one local client and is not limited.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["RateLimiter"]

_MAX_TRACKED = 10_000  # addresses remembered; the least recently seen are forgotten first


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, per_minute: int, burst: int) -> None:
        self.per_minute = per_minute
        self.burst = burst
        self._rate = per_minute / 60.0
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def retry_after(self, client: str, now: float | None = None) -> float | None:
        """Take one call for `client`: None when allowed, else seconds until one would be."""
        if self.per_minute == 0:
            return None
        now = time.monotonic() if now is None else now
        bucket = self._buckets.pop(client, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self._rate)
        bucket.at = now
        self._buckets[client] = bucket
        if len(self._buckets) > _MAX_TRACKED:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self._rate
