"""Blocking calls of a database driver, made where a task's timeout or kill can still interrupt the wait.

A driver call that waits on the server (executing a query, fetching rows) blocks in C, where Python's
signal handlers cannot run: Airflow's ``execution_timeout`` and ``on_kill`` would only act once the server
answered. The source streams therefore make each such call in a thread of its own and wait for it in the
task's thread, which signals reach; an interrupted call goes on until the stream ends its query.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, ClassVar


class BlockingCalls:
    """Mixin of the source streams: :meth:`call` runs one driver call in a thread and waits for it.

    ``_pending`` is the thread of a call whose wait was interrupted (None otherwise): the stream settles it
    before closing the connection the call uses.
    """

    call_thread_name: ClassVar[str] = "cio-source-call"
    _pending: threading.Thread | None = None

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking driver call in a thread of its own; wait for it where signals can interrupt.

        If the wait is interrupted, the call goes on until the stream ends its query.
        """
        future: Future[Any] = Future()

        def run() -> None:
            try:
                future.set_result(function(*args))
            except BaseException as error:  # handed to the waiting caller
                future.set_exception(error)

        self._pending = threading.Thread(target=run, name=self.call_thread_name, daemon=True)
        self._pending.start()
        result = future.result()
        self._pending = None
        return result
