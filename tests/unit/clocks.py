"""A fake clock for the modules that read ``time.monotonic()``: tests move time on, nothing sleeps."""

from __future__ import annotations

import threading


class FakeClock:
    """Stands in for a module's ``time``: ``monotonic()`` is what the test set, from 1000 s on.

    :param start: the first reading (far from 0, as a real monotonic clock is).
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        """The current reading."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time on."""
        self.now += seconds


class ClockEvent(threading.Event):
    """A ``threading.Event`` whose ``wait(seconds)`` moves the fake clock on instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def wait(self, timeout: float | None = None) -> bool:
        if not self.is_set() and timeout is not None and timeout > 0:
            self.clock.advance(timeout)
        return self.is_set()
