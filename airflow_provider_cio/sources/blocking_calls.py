"""Blocking calls of a database driver, made where a task's timeout or kill can still interrupt the wait.

A driver call that waits on the server (executing a query, fetching rows) blocks in C, where Python's
signal handlers cannot run: Airflow's ``execution_timeout`` and ``on_kill`` would only act once the server
answered. The source streams therefore make each such call in a thread of their own and wait for it in the
task's thread, which signals reach; an interrupted call goes on until the stream ends its query.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, wait
from typing import Any, ClassVar

SETTLE_SECONDS = 10.0
"""How long :meth:`BlockingCalls.settled` waits for an interrupted call to end, before and after asking once more."""

DriverCall = tuple[Callable[..., Any], tuple[Any, ...], "Future[Any]"]
"""A driver function, its arguments, and the future that gets its result."""


class BlockingCalls:
    """Mixin of the source streams: :meth:`call` runs one driver call in the stream's call thread and waits
    for it.

    The call thread starts with the first call and serves the stream's calls one after the other (a
    thread started per call costs more than fetching a block of rows); :meth:`end_calls` ends it, as does
    the stream being garbage-collected. ``_pending`` is the call under way (None between calls): a call
    whose wait was interrupted stays pending, and the stream settles it (:meth:`call_ended`) before closing
    the connection the call uses.
    """

    call_thread_name: ClassVar[str] = "cio-source-call"
    _pending: Future[Any] | None = None
    _calls: queue.SimpleQueue[DriverCall | None] | None = None
    _end: weakref.finalize | None = None
    _call_thread: threading.Thread | None = None

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking driver call in the call thread; wait for it where signals can interrupt.

        If the wait is interrupted, the call goes on until the stream ends its query.
        """
        calls = self._calls or self._start_calls()
        future: Future[Any] = Future()
        self._pending = future
        calls.put((function, args, future))
        result = future.result()
        self._pending = None
        return result

    def call_ended(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for the pending call, if any; return whether none is under way."""
        pending = self._pending
        if pending is not None:
            wait([pending], timeout)
            if not pending.done():
                return False
        self._pending = None
        return True

    def cancel(self) -> None:
        """Stop the query under way (each stream cancels its own way)."""
        raise NotImplementedError

    def settled(self) -> bool:
        """Whether no interrupted call is still running (cancelling its query again if needed)."""
        if self.call_ended(SETTLE_SECONDS):
            return True
        self.cancel()
        return self.call_ended(SETTLE_SECONDS)

    def end_calls(self) -> None:
        """End the call thread once the calls given to it are done; wait for it unless a call is under way.

        A later call starts a new call thread.
        """
        if self._end is not None:
            self._end()
        if self._call_thread is not None and (self._pending is None or self._pending.done()):
            self._call_thread.join()
        self._calls = self._end = self._call_thread = None

    def _start_calls(self) -> queue.SimpleQueue[DriverCall | None]:
        calls: queue.SimpleQueue[DriverCall | None] = queue.SimpleQueue()
        self._call_thread = threading.Thread(target=_serve, args=(calls,), name=self.call_thread_name, daemon=True)
        self._call_thread.start()
        self._calls = calls
        self._end = weakref.finalize(self, calls.put, None)
        return calls


def _serve(calls: queue.SimpleQueue[DriverCall | None]) -> None:
    """The call thread: run each call given, in order, until told to end (None)."""
    while (item := calls.get()) is not None:
        function, args, future = item
        try:
            future.set_result(function(*args))
        except BaseException as error:  # handed to the waiting caller
            future.set_exception(error)
        del item, function, args, future  # hold nothing of a finished call while waiting for the next


def close_quietly(part: Any, connection: Any) -> None:
    """Close a result's cursor or reader (if any), then its connection, whatever either raises: a broken
    connection has nothing left to do but be closed."""
    try:
        if part is not None:
            with contextlib.suppress(Exception):
                part.close()
    finally:
        with contextlib.suppress(Exception):
            connection.close()
