"""Per-key request rate limits for the signaling hot path.

The HTTP endpoints use the `limits` library; the Socket.IO requests use this instead, because
limits' MemoryStorage sweeps every key from a timer up to 100 times a second, and with one key per
connection that sweep took ~12 % of the server's CPU at 3,000 clients (docs/benchmarks.md).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from limits import parse as parse_rate


class MovingWindow:
    """At most N hits per key in any window of the rate's length ("50/second"), like limits'
    MovingWindowRateLimiter, with each key's recent hits in a deque pruned when the key is hit.

    limits' MemoryStorage sweeps every key from a timer up to 100 times a second; with one key
    per connection that sweep took ~12 % of the server's CPU at 3,000 clients. Here keys idle
    for a whole window are forgotten at most once per window.
    """

    def __init__(self, rate: str) -> None:
        item = parse_rate(rate)
        self.amount = item.amount
        self.seconds = float(item.get_expiry())
        self.hits: dict[Any, deque[float]] = {}
        self._sweep_at = 0.0

    def hit(self, key: Any) -> bool:
        now = time.monotonic()
        window = self.hits.get(key)
        if window is None:
            window = self.hits[key] = deque()
        horizon = now - self.seconds
        while window and window[0] <= horizon:
            window.popleft()
        if len(window) >= self.amount:
            return False
        window.append(now)
        if now >= self._sweep_at:
            self.hits = {k: w for k, w in self.hits.items() if w and w[-1] > horizon}
            self._sweep_at = now + self.seconds
        return True

    def clear(self, key: Any) -> None:
        self.hits.pop(key, None)
