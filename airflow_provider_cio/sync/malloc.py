"""glibc's malloc arenas, kept few while a sync sends: each sender thread would otherwise get one of its own.

A sender joins its batch into one request body of up to 500 kB. glibc gives each new thread an arena of
its own (up to 8 per CPU core), and an arena keeps the memory of the bodies it freed for its thread's next
ones: with 16 senders that was about 20 MB of the sync's peak memory (``make bench``: 211 -> 190 MB, the
same speed). Python's own small objects do not use these arenas.

The limit holds for the rest of the process (glibc fixes it once it has needed it); an Airflow task runs
in a process of its own. Elsewhere than glibc (macOS, musl) nothing changes.
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
