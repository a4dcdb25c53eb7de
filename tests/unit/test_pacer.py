"""The hook's request pace (``hooks/customerio/pacing.py``) on a fake clock: never more than ``ceiling`` starts in any
window of 1.05 s, a start rate that doubles each second, a pause for every request after a 429 until its
``Retry-After``, and a pace cut to the workspace's limit. Nothing here sleeps."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_cio.hooks.customerio import pacing
from airflow_provider_cio.hooks.customerio.pacing import MIN_RATE, START_RATE, WINDOW_SECONDS, RequestPacer

from .clocks import ClockEvent, FakeClock

ROUNDING = 1e-9
"""Start times are sums of floats: a window is measured with this much slack."""


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(pacing, "time", fake)
    return fake


def starts(pacer: RequestPacer, clock: FakeClock, count: int, *, answered: bool = True) -> list[float]:
    """The start times of ``count`` requests sent one after another, each answered at once (not throttled)."""
    event, times = ClockEvent(clock), []
    for _ in range(count):
        pacer.wait(event)
        times.append(clock.now)
        if answered:
            pacer.answered(throttled=False, retry_after=None)
    return times


def most_in_a_window(times: list[float]) -> int:
    """The most start times within any span of ``WINDOW_SECONDS``."""
    return max(sum(1 for t in times if first <= t < first + WINDOW_SECONDS - ROUNDING) for first in times)


def test_the_pace_starts_at_twenty_a_second_and_grows_by_one_per_answer(clock: FakeClock) -> None:
    pacer = RequestPacer(100)
    times = starts(pacer, clock, 4)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps == pytest.approx([WINDOW_SECONDS / 20, WINDOW_SECONDS / 21, WINDOW_SECONDS / 22])
    assert times[0] == 1000.0, "the first request starts at once"
    assert pacer.rate == START_RATE + 4


@pytest.mark.parametrize("ceiling", [1, 2, 3, 5, 20, 100])
def test_whole_ceilings_are_kept_in_every_window(clock: FakeClock, ceiling: int) -> None:
    times = starts(RequestPacer(ceiling), clock, 4 * ceiling + 10)
    assert most_in_a_window(times) == ceiling


def test_a_fractional_ceiling_is_kept_by_the_start_times_of_the_last_window(clock: FakeClock) -> None:
    """At 2.5 requests/s the spacing alone (0.42 s) would start three requests within 0.84 s, more than 2.5 in
    one window; the start times of the last ``int(ceiling)`` requests hold the third back to 1.05 s after the
    first. This is what the pacer's start-time deque is for: with room for one more, it does nothing."""
    times = starts(RequestPacer(2.5), clock, 12)
    assert most_in_a_window(times) == 2
    assert times[2] - times[0] == pytest.approx(WINDOW_SECONDS)


@settings(max_examples=40)
@given(
    ceiling=st.one_of(st.integers(1, 150), st.floats(0.2, 150, allow_nan=False).map(lambda c: round(c, 2))),
    throttled_at=st.sets(st.integers(0, 200), max_size=6),
    retry_after=st.sampled_from([None, 0.0, 1.0, 2.0]),
)
def test_no_window_ever_holds_more_starts_than_the_ceiling(
    ceiling: float, throttled_at: set[int], retry_after: float | None
) -> None:
    """Whatever the ceiling (whole or not) and wherever 429s fall, no 1.05 s holds more than ``ceiling``
    starts (at least one request can always start)."""
    clock = FakeClock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pacing, "time", clock)
        pacer, event, times = RequestPacer(ceiling), ClockEvent(clock), []
        for number in range(3 * math.ceil(ceiling) + 20):
            pacer.wait(event)
            times.append(clock.now)
            pacer.answered(throttled=number in throttled_at, retry_after=retry_after)
    assert most_in_a_window(times) <= max(1, math.floor(ceiling))


def test_a_429_pauses_every_request_until_its_retry_after_has_passed(clock: FakeClock) -> None:
    pacer = RequestPacer(100)
    starts(pacer, clock, 10)
    throttled_at = clock.now
    pacer.answered(throttled=True, retry_after=3.0)
    clock.advance(0.5)  # other requests come along while the pause lasts
    later = starts(pacer, clock, 3)
    assert later[0] == pytest.approx(throttled_at + 3.0)
    assert all(start >= throttled_at + 3.0 for start in later)


class AnsweredWhileWaiting(ClockEvent):
    """A wait during which another thread's request is answered 429 (the first time only)."""

    def __init__(self, clock: FakeClock, pacer: RequestPacer, retry_after: float) -> None:
        super().__init__(clock)
        self.pacer, self.retry_after, self.answered_at = pacer, retry_after, None

    def wait(self, timeout: float | None = None) -> bool:
        if self.answered_at is None:
            self.clock.advance(0.01)
            self.answered_at = self.clock.now
            self.pacer.answered(throttled=True, retry_after=self.retry_after)
            return super().wait(None if timeout is None else timeout - 0.01)
        return super().wait(timeout)


def test_a_request_waiting_for_its_start_time_when_a_429_comes_waits_for_the_pause_too(clock: FakeClock) -> None:
    """Start times are handed out ahead (eight threads at 20 requests/s: up to 0.4 s ahead); a 429 answered in
    the meantime must hold back the requests already holding a start time, not only the ones that come later."""
    pacer = RequestPacer(100)
    starts(pacer, clock, 5)
    event = AnsweredWhileWaiting(clock, pacer, retry_after=2.0)

    pacer.wait(event)

    assert event.answered_at is not None
    assert clock.now >= event.answered_at + 2.0


def test_a_429_cuts_the_pace_to_nine_tenths_of_what_was_accepted_in_the_last_second(clock: FakeClock) -> None:
    pacer = RequestPacer(100)
    answers = starts(pacer, clock, 40)  # each answered as it starts, over about 1.3 s
    accepted = sum(1 for t in answers if clock.now - WINDOW_SECONDS <= t)
    assert 20 < accepted < 40 and pacer.rate == START_RATE + 40

    pacer.answered(throttled=True, retry_after=None)

    assert pacer.rate == pytest.approx(0.9 * accepted)
    cut = pacer.rate
    pacer.answered(throttled=True, retry_after=None)
    assert pacer.rate == cut, "at most one cut a second"
    clock.advance(1.1)
    pacer.answered(throttled=True, retry_after=None)
    assert pacer.rate == pytest.approx(cut / 2 * 0.9), "no answer accepted in the last second: half, then 9/10"


def test_after_a_429_the_pace_regains_slowly_up_to_the_ceiling(clock: FakeClock) -> None:
    pacer = RequestPacer(30)
    pacer.answered(throttled=True, retry_after=None)
    assert pacer.rate == START_RATE / 2 * 0.9
    rate = pacer.rate
    pacer.answered(throttled=False, retry_after=None)
    assert pacer.rate == pytest.approx(rate + 0.5 / rate), "half a request/s per second of answers"
    for _ in range(2000):
        pacer.answered(throttled=False, retry_after=None)
    assert pacer.rate == 30.0


def test_the_pace_never_falls_below_one_request_every_two_seconds(clock: FakeClock) -> None:
    pacer = RequestPacer(100)
    for _ in range(20):
        clock.advance(1.0)
        pacer.answered(throttled=True, retry_after=None)
    assert pacer.rate == MIN_RATE


def test_a_429_never_lifts_a_ceiling_below_that_slowest_pace(clock: FakeClock) -> None:
    pacer = RequestPacer(0.2)
    for _ in range(3):
        clock.advance(10.0)
        pacer.answered(throttled=True, retry_after=None)
        assert pacer.rate <= 0.2
    assert most_in_a_window(starts(pacer, clock, 4)) == 1


def test_a_cancelled_wait_returns_at_once(clock: FakeClock) -> None:
    pacer = RequestPacer(1)
    pacer.answered(throttled=True, retry_after=60.0)
    event = ClockEvent(clock)
    event.set()
    pacer.wait(event)
    assert clock.now == 1000.0


def test_a_ceiling_must_be_over_zero() -> None:
    with pytest.raises(ValueError, match="more than 0"):
        RequestPacer(0)
