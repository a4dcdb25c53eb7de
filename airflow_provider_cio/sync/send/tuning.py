"""Process-wide settings for the duration of a sync in a task process, put back afterwards.

Each makes a sync faster (measured with ``make bench`` when it was added):

- A shorter GIL switch interval: the reading thread is busy all the time, and a sender whose answer has
  arrived waits for the GIL before it can hand the workspace the lane's next batch.
- Fewer garbage collections: every block of rows allocates tens of thousands of objects, none of them
  in reference cycles; the objects that exist before the sync (Airflow's, the drivers') are frozen out
  of the collections, which then only look at what the sync allocates.
- Few glibc malloc arenas (:mod:`~airflow_provider_cio.sync.send.malloc`): the only one that cannot be put
  back, see there.

:class:`~airflow_provider_cio.sync.job.SyncJob` runs its sync inside :func:`tuned_for_sync`; the
engine alone (the preview, a user's own code) changes nothing of the process.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from airflow_provider_cio.sync.send.malloc import limit_malloc_arenas

SENDER_SWITCH_INTERVAL = 0.001
"""Seconds the reading thread may hold the GIL while a sender waits (Python's default is 0.005)."""

YOUNG_GC_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation during a sync (Python's default is 700)."""


@contextmanager
def streaming_interpreter() -> Iterator[None]:
    """The switch interval and garbage collection of a sync, the previous ones restored afterwards.

    Objects are frozen only when nothing else froze any (then all are unfrozen afterwards); the switch
    interval and collection thresholds are only ever lowered (a process tuned further keeps its own).
    """
    switch_interval = sys.getswitchinterval()
    thresholds = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    sys.setswitchinterval(min(switch_interval, SENDER_SWITCH_INTERVAL))
    gc.set_threshold(max(thresholds[0], YOUNG_GC_THRESHOLD), *thresholds[1:])
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(switch_interval)


@contextmanager
def tuned_for_sync() -> Iterator[None]:
    """Every setting of this module, for the body of the ``with``: enter it before the sender threads exist."""
    limit_malloc_arenas()
    with streaming_interpreter():
        yield
