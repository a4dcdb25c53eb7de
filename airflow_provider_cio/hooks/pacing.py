"""The pace of a hook's requests: under a ceiling always, and down to the workspace's own limit when it says so.

Customer.io asks integrations to stay under 100 Track API requests per second per workspace (a
fair-use limit, not strictly enforced). :class:`RequestPacer` spaces every request of a hook, retries
included:

- never more than ``ceiling`` requests in any :data:`WINDOW_SECONDS` (slightly over a second, so that
  network jitter cannot put more than ``ceiling`` into one second as the workspace counts them);
- a 429 pauses every request of the hook until its ``Retry-After`` has passed, and cuts the pace to
  nine tenths of what the last second carried: the workspace's limit, give or take;
- each prompt answer raises the pace again by a little (:data:`RATE_STEP` requests/s per second of
  answers), back up to the ceiling: the pace converges just under the workspace's limit rather than
  bouncing off it.
"""

from __future__ import annotations

import collections
import threading
import time

WINDOW_SECONDS = 1.05
"""The span in which at most ``ceiling`` requests start (a second, plus 5% for network jitter)."""

RATE_STEP = 0.5
"""Requests/s the pace regains per second of answers without a 429."""

MIN_RATE = 0.5
"""The slowest pace after 429s: one request every two seconds."""


class RequestPacer:
    """Start times for requests: at most ``ceiling`` per second, and fewer after the workspace's 429s.

    :param ceiling: requests per second never exceeded (the connection's ``requests_per_second``).
    """

    def __init__(self, ceiling: float) -> None:
        if ceiling <= 0:
            raise ValueError("requests_per_second must be more than 0")
        self.ceiling = float(ceiling)
        self.rate = self.ceiling
        self._starts: collections.deque[float] = collections.deque(maxlen=max(1, int(ceiling)))
        self._next = 0.0
        self._paused_until = 0.0
        self._last_cut = 0.0
        self._lock = threading.Lock()

    def wait(self, cancelled: threading.Event) -> None:
        """Take the next start time and wait for it (returns early when ``cancelled`` is set)."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next, self._paused_until)
            starts = self._starts
            if len(starts) == starts.maxlen:
                start = max(start, starts[0] + WINDOW_SECONDS)
            starts.append(start)
            self._next = start + WINDOW_SECONDS / self.rate
        if start > now:
            cancelled.wait(start - now)

    def answered(self, *, throttled: bool, retry_after: float | None) -> None:
        """Adapt to one answer: ``throttled`` is a 429 (with its ``Retry-After`` seconds, if any)."""
        with self._lock:
            now = time.monotonic()
            if not throttled:
                self.rate = min(self.ceiling, self.rate + RATE_STEP / self.rate)
                return
            self._paused_until = max(self._paused_until, now + (retry_after or 0.0))
            if now - self._last_cut >= 1.0:
                carried = sum(1 for start in self._starts if now - WINDOW_SECONDS <= start <= now)
                self.rate = max(MIN_RATE, (min(self.rate, carried) if carried else self.rate / 2) * 0.9)
                self._last_cut = now
