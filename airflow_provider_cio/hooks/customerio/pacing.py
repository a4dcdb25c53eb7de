"""The pace of a hook's requests: under a ceiling always, and down to the workspace's own limit when it says so.

Customer.io asks integrations to stay under 100 Track API requests per second per workspace (a
fair-use limit, not strictly enforced). :class:`RequestPacer` spaces every request of a hook, retries
included:

- never more than ``ceiling`` requests in any :data:`WINDOW_SECONDS` (slightly over a second, so that
  network jitter cannot put more than ``ceiling`` into one second as the workspace counts them);
- the pace starts at :data:`START_RATE` and grows by one request/s per answer (it doubles every
  second) until the first 429, so that a workspace with a lower limit than the ceiling sees a short
  overshoot, not a burst of a hundred requests;
- a 429 pauses every request of the hook until its ``Retry-After`` has passed, and cuts the pace to
  nine tenths of the answers the workspace accepted in the last second: its limit, give or take;
- after that, each answer that is not a 429 raises the pace by a little (:data:`RATE_STEP` requests/s
  per second of answers), back up to the ceiling: the pace converges just under the workspace's limit
  rather than bouncing off it.
"""

from __future__ import annotations

import collections
import threading
import time

WINDOW_SECONDS = 1.05
"""The span in which at most ``ceiling`` requests start (a second, plus 5% for network jitter)."""

START_RATE = 20.0
"""Requests/s at the start, before the pace has doubled up to the ceiling."""

RATE_STEP = 0.5
"""Requests/s the pace regains per second of answers without a 429."""

MIN_RATE = 0.5
"""The slowest pace after 429s: one request every two seconds (or the ceiling, when that is lower)."""


class RequestPacer:
    """Start times for requests: at most ``ceiling`` per second, and fewer after the workspace's 429s.

    :param ceiling: requests per second never exceeded (the connection's ``requests_per_second``).
    """

    def __init__(self, ceiling: float) -> None:
        if ceiling <= 0:
            raise ValueError("requests_per_second must be more than 0")
        self.ceiling = float(ceiling)
        self.rate = min(self.ceiling, START_RATE)
        # The spacing by WINDOW_SECONDS / rate keeps a whole ceiling by itself; a fractional one (2.5) it does not
        # (three starts in 0.84 s): the start times of the last int(ceiling) requests hold the next one back.
        self._starts: collections.deque[float] = collections.deque(maxlen=max(1, int(ceiling)))
        self._accepted: collections.deque[float] = collections.deque(maxlen=max(1, int(ceiling)))
        self._slow_start = True
        self._next = 0.0
        self._paused_until = 0.0
        self._last_cut = 0.0
        self._lock = threading.Lock()

    def wait(self, cancelled: threading.Event) -> None:
        """Take the next start time and wait for it (returns early when ``cancelled`` is set).

        A 429 answered while a request waits for its start time pauses that request too: it takes a new start
        time after the pause.
        """
        while True:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next, self._paused_until)
                starts = self._starts
                if len(starts) == starts.maxlen:
                    start = max(start, starts[0] + WINDOW_SECONDS)
                starts.append(start)
                self._next = start + WINDOW_SECONDS / self.rate
            if start > now and cancelled.wait(start - now):
                return
            with self._lock:
                if self._paused_until <= start:
                    return
                if start in starts:  # paused after it was taken: this start time is given up
                    starts.remove(start)

    def answered(self, *, throttled: bool, retry_after: float | None) -> None:
        """Adapt to one answer: ``throttled`` is a 429 (with its ``Retry-After`` seconds, if any)."""
        with self._lock:
            now = time.monotonic()
            if not throttled:
                self._accepted.append(now)
                self.rate = min(self.ceiling, self.rate + (1.0 if self._slow_start else RATE_STEP / self.rate))
                return
            self._slow_start = False
            self._paused_until = max(self._paused_until, now + (retry_after or 0.0))
            if now - self._last_cut >= 1.0:
                accepted = sum(1 for answer in self._accepted if now - WINDOW_SECONDS <= answer)
                floor = min(MIN_RATE, self.ceiling)
                self.rate = max(floor, (min(self.rate, accepted) if accepted else self.rate / 2) * 0.9)
                self._last_cut = now
