"""``python -m benchmarks.mirror --rows N``: what a mirror sync costs, against the raw read of its query.

1. creates N people (10 columns) in a private MySQL server (or ``MYSQL_URL``), starts the emulator;
2. measures the floor: the same query streamed by MySQLdb with ``conv={}`` (no value conversion at all);
3. runs mirror syncs, each in a process of its own (peak RSS is the sync's own), snapshots on ``file://``:
   the first run (every row new), a run with nothing changed, a run with 1% of the rows changed;
4. does the first two again at 3 x N, to show that peak memory does not grow with rows.

Goals (issue 13): nothing changed <= 3 x the floor; 1% changed <= 4 x; the snapshot about 16 bytes a row.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import MySQLdb.cursors

from airflow_provider_cio.testing import WorkspaceEmulator
from benchmarks.data import QUERY, create_people
from cio_devservers import MySQLServer, TemporaryMySQLServer

ROOT = Path(__file__).resolve().parent.parent


def floor_read(server: MySQLServer, database: str, query: str) -> float:
    """Seconds to stream every row of the query with no driver conversion (``conv={}``: bytes only)."""
    connection = server.connect(database, conv={})
    cursor = connection.cursor(MySQLdb.cursors.SSCursor)
    started = time.perf_counter()
    cursor.execute(query)
    while cursor.fetchmany(5000):
        pass
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def mirror_run(
    server: MySQLServer, database: str, emulator: WorkspaceEmulator, folder: str, pointer: dict[str, Any] | None
) -> dict[str, Any]:
    """One mirror sync in a child process; its results (and the new snapshot pointer)."""
    env = {**server.connection_env("mysql_default", database=database), **emulator.connection_env()}
    settings = {"env": env, "query": QUERY, "folder": folder, "pointer": pointer}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.mirror", "--child"],
        input=json.dumps(settings),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the sync process failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


class MemorySampler:
    """The peak of this process's anonymous (heap) and file-backed resident memory, sampled every 20 ms.

    ``ru_maxrss`` counts both: the snapshot's hash arrays are memory-mapped, so pages of the snapshot file
    that lookups touched count as resident while they stay mapped, though the kernel may drop them at any
    time (they are re-read from the file).
    """

    def __init__(self) -> None:
        self.anon_mb = self.file_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith(("RssAnon:", "RssFile:")):
                        megabytes = int(line.split()[1]) / 1024
                        if line.startswith("RssAnon:"):
                            self.anon_mb = max(self.anon_mb, megabytes)
                        else:
                            self.file_mb = max(self.file_mb, megabytes)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def child() -> None:
    """The sync of :func:`mirror_run`: ``MySQLQueryStream`` -> ``SyncJob`` (mirror) -> ``CustomerIOHook``."""
    settings = json.load(sys.stdin)
    os.environ.update(settings["env"])
    from airflow_provider_cio.hooks.customerio import CustomerIOHook
    from airflow_provider_cio.sources.mysql.stream import MySQLQueryStream
    from airflow_provider_cio.storage import ObjectStore
    from airflow_provider_cio.sync.job import SyncJob
    from airflow_provider_cio.sync.mirror.options import MirrorOptions
    from airflow_provider_cio.sync.settings import SyncSettings

    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hook = CustomerIOHook(max_connections=5)
    store = ObjectStore(settings["folder"])
    options = MirrorOptions(on_removed="ignore", max_removed="10%", store=store, pointer=settings["pointer"])
    job = SyncJob(
        SyncSettings(import_type="people", sync_mode="mirror", empty_values="delete", activity_settle_seconds=0),
        hook,
        mirror=options,
        workdir=tempfile.gettempdir(),
    )
    stream = MySQLQueryStream()
    sampler = MemorySampler()
    started = time.perf_counter()
    report = job.run(stream.execute(settings["query"], job.text_converters()))
    seconds = time.perf_counter() - started
    sampler.stop()
    stream.close(finished=True)
    assert job.mirror is not None
    pointer = job.mirror.new_pointer
    job.close()
    if pointer is not None:
        job.mirror.clean_up(settings["pointer"])
    snapshot_bytes = 0
    if pointer is not None:
        snapshot_bytes = os.path.getsize(settings["folder"].removeprefix("file://") + "/" + pointer["name"])
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows_read": report.rows_read,
                "rows_sent": report.rows_sent,
                "rows_unchanged": report.rows_unchanged,
                "error": report.error,
                "pointer": pointer,
                "snapshot_bytes": snapshot_bytes,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "baseline_rss_mb": baseline_mb,
                "peak_anon_mb": sampler.anon_mb,
                "peak_file_mb": sampler.file_mb,
            }
        )
    )


def measure(server: MySQLServer, rows: int, emulator: WorkspaceEmulator, changes: bool) -> dict[str, Any]:
    """The floor and the mirror runs over ``rows`` people."""
    database = f"bench_mirror_{rows}"
    server.execute(f"DROP DATABASE IF EXISTS `{database}`")
    create_people(server, database, rows)
    folder = f"file://{tempfile.mkdtemp(prefix='cio-bench-mirror-')}"
    try:
        emulator.reset()
        floor = min(floor_read(server, database, QUERY) for _ in range(2))
        first = mirror_run(server, database, emulator, folder, None)
        unchanged = mirror_run(server, database, emulator, folder, first["pointer"])
        figures = {"rows": rows, "floor_seconds": floor, "first": first, "unchanged": unchanged}
        if changes:
            server.execute("UPDATE people SET plan = 'enterprise' WHERE id % 100 = 0", database=database)
            figures["one_percent"] = mirror_run(server, database, emulator, folder, unchanged["pointer"])
        return figures
    finally:
        server.execute(f"DROP DATABASE IF EXISTS `{database}`")


def show(figures: dict[str, Any]) -> None:
    rows, floor = figures["rows"], figures["floor_seconds"]
    print(f"\n{rows:,} rows; raw read (MySQLdb, conv={{}}): {floor:.2f} s")
    for name in ("first", "unchanged", "one_percent"):
        run = figures.get(name)
        if run is None:
            continue
        print(
            f"  {name:12} {run['seconds']:7.2f} s = {run['seconds'] / floor:4.1f} x raw; sent {run['rows_sent']:,}, "
            f"unchanged {run['rows_unchanged']:,}; peak RSS {run['peak_rss_mb']:.0f} MB "
            f"(after imports {run['baseline_rss_mb']:.0f} MB; heap {run['peak_anon_mb']:.0f} MB, "
            f"file-backed {run['peak_file_mb']:.0f} MB); "
            f"snapshot {run['snapshot_bytes'] / max(rows, 1):.1f} B/row"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-3x", action="store_true", help="skip the run at 3 x rows")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    url = os.environ.get("MYSQL_URL")
    with WorkspaceEmulator(in_subprocess=True) as emulator:
        if url:
            show(measure(MySQLServer.from_url(url), args.rows, emulator, changes=True))
            if not args.no_3x:
                show(measure(MySQLServer.from_url(url), 3 * args.rows, emulator, changes=False))
            return
        with TemporaryMySQLServer() as server:
            show(measure(server, args.rows, emulator, changes=True))
            if not args.no_3x:
                show(measure(server, 3 * args.rows, emulator, changes=False))


if __name__ == "__main__":
    main()
