"""How many batch requests a sync keeps in flight: a fixed number, or one that adapts (AIMD).

A workspace far away answers each request after a round trip; more requests in flight hide it. Too
many overload the workspace, which answers 429/503 or slower. The adaptive window starts at
:data:`INITIAL_WINDOW` and, like TCP's congestion window:

- grows by one request per prompt answer until the first sign of congestion (slow start: it doubles
  every round trip), then by one request per window's worth of prompt answers (additive increase), up
  to the maximum;
- halves when the workspace answers 429 or 503 (at most once per round trip);
- shrinks by a quarter when a full-size batch takes more than four times the fastest one seen (at most
  once per round trip): latency that rises with load means the workspace is queueing our requests. (A
  lower factor, such as twice, holds a distant workspace's window too small to keep it busy: a short queue
  at the workspace is what keeps it busy; ``make bench``'s (b150) row measures it.)
"""

from __future__ import annotations

import threading
import time

INITIAL_WINDOW = 4
"""Requests in flight when an adaptive sync starts."""

RISING_LATENCY = 4.0
"""A full batch slower than this multiple of the fastest one seen counts as congestion."""


class ConcurrencyWindow:
    """A semaphore whose size adapts to the workspace's answers.

    :param maximum: the most requests in flight.
    :param fixed: keep exactly ``maximum`` (the operators' ``concurrency``) instead of adapting.
    """

    def __init__(self, maximum: int, *, fixed: bool = False) -> None:
        if maximum < 1:
            raise ValueError("the number of requests in flight must be at least 1")
        self.maximum = maximum
        self.fixed = fixed
        self.limit = float(maximum if fixed else min(INITIAL_WINDOW, maximum))
        self.in_flight = 0
        self._fastest = float("inf")
        self._last_cut = 0.0
        self._slow_start = True
        self._changed = threading.Condition()

    def acquire(self) -> None:
        """Wait for room, then count one more request in flight."""
        with self._changed:
            while self.in_flight >= int(self.limit):
                self._changed.wait()
            self.in_flight += 1

    def release(self, seconds: float, *, throttled: bool, full: bool) -> None:
        """One request is answered after ``seconds``.

        :param throttled: the workspace answered 429 or 503 on the way (retries included).
        :param full: the batch was a full-size one (small ones are faster and say nothing of load).
        """
        with self._changed:
            self.in_flight -= 1
            if not self.fixed:
                self._adapt(seconds, throttled, full)
            self._changed.notify(max(1, int(self.limit) - self.in_flight))

    def _adapt(self, seconds: float, throttled: bool, full: bool) -> None:
        now = time.monotonic()
        recent_cut = now - self._last_cut < max(seconds, 0.05)
        slow = full and seconds > RISING_LATENCY * self._fastest
        if full:
            self._fastest = min(self._fastest, seconds)
        if throttled or slow:
            if not recent_cut:
                self.limit = max(1.0, self.limit / 2 if throttled else self.limit * 0.75)
                self._last_cut = now
            self._slow_start = False
        else:
            self.limit = min(float(self.maximum), self.limit + (1 if self._slow_start else 1 / self.limit))
