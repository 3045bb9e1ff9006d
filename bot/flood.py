"""A per-user flood limit: at most `limit` messages in `window` seconds (sliding window, in memory)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Hashable


class FloodGate:
    def __init__(self, limit: int, window: float, clock=time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._seen: dict[Hashable, deque[float]] = {}
        self._warned: set[Hashable] = set()

    def allow(self, user_id: Hashable) -> bool:
        """True if this message may be answered. Call once per incoming message. The key is a user id, or
        (budget, user id) for a separate budget of the same size."""
        now = self.clock()
        q = self._seen.setdefault(user_id, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        if len(q) >= self.limit:
            return False
        q.append(now)
        self._warned.discard(user_id)
        return True

    def warn_once(self, user_id: int) -> bool:
        """True the first time a flooding user is refused (so we say why once, then stay quiet)."""
        if user_id in self._warned:
            return False
        self._warned.add(user_id)
        return True
