"""glibc's malloc arenas, kept few while a sync sends: each sender thread would otherwise get one of its own.

A sender joins its batch into one request body of up to 500 kB. glibc gives each new thread an arena of
its own (up to 8 per CPU core), and an arena keeps the memory of the bodies it freed for its thread's next
ones, so the sync's peak memory grows with the number of senders. Python's own small objects do not use
these arenas.

Unlike the other settings of :mod:`~airflow_provider_cio.sync.send.tuning`, this one is not put back when the
sync ends. glibc reads ``M_ARENA_MAX`` once, the first time a thread needs an arena beyond the first
ones, and keeps the resulting limit for the life of the process: a larger value set afterwards changes
nothing, and ``mallopt`` ignores 0, the default ("8 per core"). An Airflow task runs in a process of
its own, which ends with the task, so the limit stays within the task. Elsewhere than glibc (macOS,
musl) nothing changes.
"""

from __future__ import annotations

import ctypes

M_ARENA_MAX = -8
"""``mallopt`` parameter: the most arenas glibc creates."""
SYNC_ARENAS = 2


def limit_malloc_arenas(arenas: int = SYNC_ARENAS) -> bool:
    """Ask glibc to create at most ``arenas`` malloc arenas from now on; return whether it took the setting."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library to ask, or not glibc's
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_ARENA_MAX, arenas))
