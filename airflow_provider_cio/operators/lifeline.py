"""A sync never outlives its task: the sync stops when the process that supervises the task dies.

Airflow 3 runs each task in a process of its own, in its own process group, forked by a supervisor
that heartbeats for it (a LocalExecutor worker, a Celery pool process, the pod's main process). When
the supervisor dies (a Celery worker's main process killed: its pool processes die with it), the task
process lives on as an orphan and keeps sending. Nobody heartbeats for it any more, so after
``[scheduler] task_instance_heartbeat_timeout`` the scheduler fails the task instance, frees its pool
slot and starts the retry: two syncs would write to one workspace at once, and the orphan could write
an older value after the retry wrote a newer one.

:func:`arm` guards the task process for the duration of a sync, twice:

- On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the task process the moment its
  parent dies. Nothing inside the process can delay that (a thread stuck in a C call, the GIL held by a
  long encode, a blocked socket), and it takes no time from the sync.
- Everywhere (macOS has no ``prctl``), a watchdog thread that compares ``os.getppid()`` with the
  parent it started under, every ``interval`` seconds. When the parent changed, the parent died: it
  cancels the sync (``on_lost``: the batches in flight and the MySQL query), waits at most ``grace``
  seconds for that, and ends the process with ``os._exit``.

A fence checked before each batch ("is this still the running try?") was not chosen: it asks the API
server once per batch, cannot stop a request already under way, and an orphan whose supervisor is gone
has no channel to the API server to ask through.

:meth:`Lifeline.disarm` puts things back after the sync: ``dag.test()`` runs tasks in the calling
process, whose parent (a shell, a test runner) must not take the process down with it afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

PR_SET_PDEATHSIG = 1
LOST_EXIT_CODE = 70
"""The exit status of a task process whose watchdog found its supervisor gone (``EX_SOFTWARE``)."""


def set_parent_death_signal(signum: int) -> bool:
    """Ask Linux to send ``signum`` to this process when its parent dies (0 clears it); False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return False
    return prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signum), 0, 0, 0) == 0


@dataclass
class Lifeline:
    """The guards of one sync; :meth:`disarm` removes them.

    :param on_lost: stops the sync (cancels requests in flight and the query) when the parent is gone.
    :param interval: seconds between two looks at the parent pid.
    :param grace: seconds ``on_lost`` may take before the process exits anyway.
    :param parent_death_signal: also ask the kernel for ``SIGKILL`` on the parent's death (Linux).
    """

    on_lost: Callable[[], object]
    interval: float = 0.5
    grace: float = 2.0
    parent_death_signal: bool = True
    parent_pid: int = field(default_factory=os.getppid)
    signal_armed: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _watchdog: threading.Thread | None = None

    def start(self) -> Lifeline:
        """Arm both guards."""
        if self.parent_death_signal:
            self.signal_armed = set_parent_death_signal(signal.SIGKILL)
        self._watchdog = threading.Thread(target=self._watch, name="cio-sync-lifeline", daemon=True)
        self._watchdog.start()
        return self

    def disarm(self) -> None:
        """Remove both guards: the process may outlive its parent again."""
        self._stop.set()
        if self.signal_armed:
            set_parent_death_signal(0)
            self.signal_armed = False
        if self._watchdog is not None:
            self._watchdog.join(self.interval + 1)
        self._watchdog = None

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            if os.getppid() != self.parent_pid:
                self._lost()

    def _lost(self) -> None:
        """Stop the sync (within ``grace`` seconds), then end the process without running any cleanup."""
        stopper = threading.Thread(target=self._call_on_lost, name="cio-sync-lifeline-stop", daemon=True)
        stopper.start()
        stopper.join(self.grace)
        os._exit(LOST_EXIT_CODE)

    def _call_on_lost(self) -> None:
        with contextlib.suppress(Exception):
            self.on_lost()


def arm(on_lost: Callable[[], object], *, interval: float = 0.5, grace: float = 2.0) -> Lifeline:
    """Guard this process until :meth:`Lifeline.disarm`: when its parent dies, the sync stops.

    :param on_lost: stops the sync; called by the watchdog (not by the kernel's ``SIGKILL``, which
        needs nothing).
    :param interval: seconds between two looks at the parent pid.
    :param grace: seconds ``on_lost`` may take before the process exits anyway.
    """
    return Lifeline(on_lost, interval=interval, grace=grace).start()
