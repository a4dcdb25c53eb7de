"""The source streams' driver calls: made in one call thread per stream, waited for where signals reach.

Interrupting a call (a task's timeout while MySQL runs the query) is tested end to end in
``tests/faults/test_timeouts.py``; these tests pin the call thread's life: one thread serves every call of
a stream in order, and it ends with the stream, also when a call was still running.
"""

from __future__ import annotations

import gc
import threading

import pytest

from airflow_provider_cio.sources.blocking_calls import BlockingCalls


class Stream(BlockingCalls):
    call_thread_name = "cio-test-call"


def call_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == Stream.call_thread_name]


def test_every_call_of_a_stream_runs_in_one_thread_which_ends_with_the_stream() -> None:
    stream = Stream()

    served_by = {stream.call(threading.current_thread) for _ in range(50)}

    assert served_by == set(call_threads())
    assert len(served_by) == 1 and threading.current_thread() not in served_by
    stream.end_calls()
    assert call_threads() == []
    assert stream.call(threading.current_thread) not in served_by, "a call after the end starts a new thread"
    stream.end_calls()
    assert call_threads() == []


def test_a_calls_error_reaches_the_caller_and_the_thread_serves_the_next_call() -> None:
    stream = Stream()

    with pytest.raises(ValueError, match="invalid literal"):
        stream.call(int, "not a number")

    assert stream.call(int, "42") == 42
    stream.end_calls()


def test_a_call_still_running_is_waited_for_and_its_thread_ends_after_it() -> None:
    stream = Stream()
    release = threading.Event()
    caller = threading.Thread(target=stream.call, args=(release.wait,), daemon=True)
    caller.start()
    while stream._pending is None:
        release.wait(0.01)

    assert not stream.call_ended(0.05)
    stream.end_calls()  # as a stream's close does before it settles the call: no wait here
    assert len(call_threads()) == 1
    release.set()
    assert stream.call_ended(5.0)
    caller.join(5.0)
    for thread in call_threads():
        thread.join(5.0)
    assert call_threads() == []


def test_a_stream_that_is_never_closed_ends_its_call_thread_when_collected() -> None:
    stream = Stream()
    stream.call(threading.get_ident)
    [thread] = call_threads()

    del stream
    gc.collect()

    thread.join(5.0)
    assert not thread.is_alive()
