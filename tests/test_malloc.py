"""A sync's sender threads share two glibc malloc arenas instead of one each (``sync/send/malloc.py``).

Each case runs in a child process: the limit lasts for the rest of the process that sets it. Eight
threads, alive together, each allocate request-sized buffers; glibc's own ``malloc_info`` then says how
many arenas (``<heap>`` entries) the process has.
"""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

THREADS_ALLOCATING = """
import ctypes, os, re, sys, tempfile, threading, time
from airflow_provider_cio.sync.send.malloc import limit_malloc_arenas
if sys.argv[1] == "sync":  # a sync of 8 lanes, each sender joining its batches into request bodies
    from airflow_provider_cio.sync.records.kinds import plan_columns
    from airflow_provider_cio.sync.engine import SyncEngine
    from airflow_provider_cio.sync.records.ops import PeopleOps
    from airflow_provider_cio.sync.send.tuning import tuned_for_sync

    class Workspace:
        throttled_responses = 0
        def send_batch(self, ops):
            body = b'{"batch":[' + b",".join(ops) + b"]}"
            time.sleep(0.005)
            return []

    plan = plan_columns([("id", 8), ("note", 253)], "people")
    class Rows:
        def __init__(self):
            self.rows = [(n, "x" * 900) for n in range(1, 20_001)]
        def fetchmany(self, size):
            block, self.rows = self.rows[:size], self.rows[size:]
            return block
    with tuned_for_sync():  # as SyncJob runs the engine
        SyncEngine(PeopleOps(plan), Workspace(), concurrency=8).run(Rows())
else:
    if sys.argv[1] == "limited":
        assert limit_malloc_arenas()
    together = threading.Barrier(8)
    def send_bodies():
        together.wait()
        for _ in range(20):
            body = bytearray(600_000)
            del body
        together.wait()
    threads = [threading.Thread(target=send_bodies) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
libc.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
libc.fclose.argtypes = (ctypes.c_void_p,)
fd, path = tempfile.mkstemp()
os.close(fd)
report = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, report)
libc.fclose(report)
print(len(re.findall("<heap nr=", open(path).read())))
os.unlink(path)
"""


def arenas(mode: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", THREADS_ALLOCATING, mode], capture_output=True, text=True, check=True, timeout=60
    )
    return int(result.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's (Linux)")
def test_threads_share_two_arenas_once_the_sync_has_limited_them() -> None:
    assert arenas("limited") <= 2
    assert arenas("default") > 2, "without the limit each thread gets an arena: the test would prove nothing"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's (Linux)")
def test_a_sync_with_eight_senders_keeps_two_arenas() -> None:
    """The sync's tuning (``tuned_for_sync``, entered by ``SyncJob``) sets the limit before the engine's
    sender threads exist (the workspace here is a stand-in that only builds each request body, as the hook
    does)."""
    assert arenas("sync") <= 2
