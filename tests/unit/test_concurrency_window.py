"""The adaptive number of requests in flight (``sync/send/concurrency.py``): it grows while the workspace answers
promptly, halves on a 429 or 503 (once a round trip), shrinks by a quarter when latency rises, and never
lets more requests into flight than it allows. Time is a fake clock: nothing here sleeps."""

from __future__ import annotations

import threading

import pytest

from airflow_provider_cio.sync.send import concurrency
from airflow_provider_cio.sync.send.concurrency import INITIAL_WINDOW, ConcurrencyWindow

from .clocks import FakeClock

ROUND_TRIP = 0.2


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(concurrency, "time", fake)
    return fake


def answer(
    window: ConcurrencyWindow,
    clock: FakeClock,
    *,
    throttled: bool = False,
    seconds: float = ROUND_TRIP,
    full: bool = True,
) -> None:
    """One request through the window, answered after ``seconds``."""
    window.acquire()
    clock.advance(seconds)
    window.release(seconds, throttled=throttled, full=full)


def test_a_throttled_answer_halves_the_window(clock: FakeClock) -> None:
    window = ConcurrencyWindow(64)
    for _ in range(12):
        answer(window, clock)
    assert window.limit == INITIAL_WINDOW + 12, "slow start: one more per prompt answer"

    answer(window, clock, throttled=True)

    assert window.limit == (INITIAL_WINDOW + 12) / 2


def test_throttled_answers_shrink_the_window_down_to_one_and_never_grow_it(clock: FakeClock) -> None:
    window = ConcurrencyWindow(16)
    limits = []
    for _ in range(8):
        answer(window, clock, throttled=True)
        limits.append(window.limit)
    assert limits == [2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_answers_throttled_within_one_round_trip_cut_the_window_once(clock: FakeClock) -> None:
    window = ConcurrencyWindow(16)
    for _ in range(4):
        answer(window, clock)
    for _ in range(4):  # four requests in flight together, all answered 429
        window.acquire()
    clock.advance(ROUND_TRIP)
    for _ in range(4):
        window.release(ROUND_TRIP, throttled=True, full=True)
    assert window.limit == 4.0, "8 halved once, not four times"


def test_after_congestion_the_window_grows_by_one_a_round_trip(clock: FakeClock) -> None:
    window = ConcurrencyWindow(64)
    for _ in range(12):
        answer(window, clock)
    answer(window, clock, throttled=True)
    assert window.limit == 8.0
    for _ in range(8):  # a window's worth of prompt answers
        answer(window, clock)
    assert 8.9 < window.limit < 9.0, "additive increase: about one request more per window of answers"


def test_a_full_batch_four_times_slower_than_the_fastest_shrinks_the_window_by_a_quarter(clock: FakeClock) -> None:
    window = ConcurrencyWindow(64)
    for _ in range(12):
        answer(window, clock, seconds=0.1)
    answer(window, clock, seconds=0.39)
    assert window.limit == 17.0, "under four times the fastest: still a prompt answer"

    answer(window, clock, seconds=0.41)

    assert window.limit == 17.0 * 0.75


def test_a_slow_small_batch_says_nothing_of_load(clock: FakeClock) -> None:
    window = ConcurrencyWindow(64)
    for _ in range(4):
        answer(window, clock, seconds=0.1)
    answer(window, clock, seconds=5.0, full=False)
    assert window.limit == INITIAL_WINDOW + 5


def test_the_window_never_grows_past_the_maximum_nor_starts_over_it(clock: FakeClock) -> None:
    window = ConcurrencyWindow(6)
    for _ in range(20):
        answer(window, clock)
    assert window.limit == 6.0
    assert ConcurrencyWindow(2).limit == 2.0


def test_a_fixed_window_keeps_its_size_whatever_the_answers(clock: FakeClock) -> None:
    window = ConcurrencyWindow(5, fixed=True)
    for throttled in (True, False, True, True):
        answer(window, clock, throttled=throttled, seconds=9.0)
    assert window.limit == 5.0


def test_a_window_needs_room_for_one_request() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ConcurrencyWindow(0)


def test_never_more_requests_in_flight_than_the_window_allows() -> None:
    """Twelve threads share a fixed window of three: at no moment are more than three inside."""
    window = ConcurrencyWindow(3, fixed=True)
    inside, most, lock = 0, 0, threading.Lock()
    barrier = threading.Barrier(12)

    def sender() -> None:
        nonlocal inside, most
        barrier.wait()
        for _ in range(200):
            window.acquire()
            with lock:
                inside += 1
                most = max(most, inside)
            with lock:
                inside -= 1
            window.release(0.01, throttled=False, full=False)

    threads = [threading.Thread(target=sender) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most <= 3 and window.in_flight == 0
