"""``python -m benchmarks.postgres --rows N``: a sync from PostgreSQL against the bare read, in one run.

1. creates N rows x 10 columns of people in PostgreSQL (a private server unless ``POSTGRES_URL`` is set),
   the same columns as the MySQL benchmark (``numeric``, ``timestamp``, ``timestamptz``, ``boolean``);
2. starts the workspace emulator in its own process (HTTPS, as Customer.io is);
3. measures (a) the floor: psycopg streaming the query through a server-side cursor with its default
   loaders, doing nothing with the rows; (b) our sync into the emulator in a process of its own
   (``PostgresQueryStream`` -> ``SyncJob`` -> ``CustomerIOHook``: rows/s, peak RSS);
4. runs (b) again at 3 x N (unless ``--no-3n``) to show that memory does not grow with rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from airflow_provider_cio.testing import WorkspaceEmulator
from cio_devservers import PostgresServer, TemporaryPostgresServer

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = "id, email, first_name, last_name, plan, country, created_at, updated_at, score, active"
QUERY = f"SELECT {COLUMNS} FROM people"


def create_people(server: PostgresServer, database: str, rows: int) -> None:
    """A ``people`` table of ``rows`` rows x 10 columns (ids 1..rows), built by the server."""
    server.create_database(database)
    server.execute(
        """CREATE TABLE people (
            id bigint PRIMARY KEY, email text NOT NULL, first_name text, last_name text, plan text,
            country char(2), created_at timestamp, updated_at timestamptz, score numeric(10, 2), active boolean
        )""",
        f"""INSERT INTO people
            SELECT n, 'user' || n || '@example.com',
                   (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Ken','Margaret','Linus'])[1 + n % 8],
                   (ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Thompson','Hamilton'])[1 + n % 7],
                   (ARRAY['free','pro','team'])[1 + n % 3], (ARRAY['US','DE','FR','BR','JP'])[1 + n % 5],
                   timestamp '2020-01-01' + n * interval '1 minute',
                   timestamptz '2026-01-01 00:00:00+00' + n * interval '1 second',
                   (n % 100000) / 100.0, n % 2 = 1
            FROM generate_series(1, {int(rows)}) AS n""",
        "VACUUM ANALYZE people",
        database=database,
    )


def floor_read(server: PostgresServer, database: str) -> tuple[int, float]:
    """(a) Stream every row through a server-side cursor with psycopg's defaults; do nothing with them."""
    import psycopg

    with psycopg.connect(
        host=server.host, port=server.port, user=server.user, password=server.password, dbname=database
    ) as connection:
        cursor = connection.cursor(name="floor")
        started = time.perf_counter()
        cursor.execute(QUERY)
        rows = 0
        while block := cursor.fetchmany(5000):
            rows += len(block)
        return rows, time.perf_counter() - started


def our_sync(server: PostgresServer, database: str, emulator: WorkspaceEmulator, concurrency: int) -> dict[str, Any]:
    """(b) Our sync in a child process (its peak RSS is the sync's own)."""
    env = {"AIRFLOW_CONN_POSTGRES_DEFAULT": server.url_for(database), **emulator.connection_env()}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.postgres", "--child"],
        input=json.dumps({"env": env, "concurrency": concurrency}),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the sync process failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def child() -> None:
    """The sync of (b): settings as JSON on stdin, one JSON line of results on stdout."""
    settings = json.load(sys.stdin)
    os.environ.update(settings["env"])
    from airflow_provider_cio.hooks.customerio import CustomerIOHook
    from airflow_provider_cio.sources.postgres.stream import PostgresQueryStream
    from airflow_provider_cio.sync.job import SyncJob
    from airflow_provider_cio.sync.settings import SyncSettings

    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hook = CustomerIOHook(max_connections=settings["concurrency"] + 1)
    job = SyncJob(
        SyncSettings(import_type="people", concurrency=settings["concurrency"], activity_settle_seconds=0), hook
    )
    stream = PostgresQueryStream()
    started = time.perf_counter()
    report = job.run(stream.execute(QUERY))
    seconds = time.perf_counter() - started
    stream.close(finished=True)
    job.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows_sent": report.rows_sent,
                "error": report.error,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "baseline_rss_mb": baseline_mb,
            }
        )
    )


def check(result: dict[str, Any], rows: int, emulator: WorkspaceEmulator) -> None:
    """Every row must have arrived, or the figures mean nothing."""
    stats = emulator.stats().get("POST /api/v2/batch", {}).get("ops", {})
    if result["error"] or result["rows_sent"] != rows or stats.get("accepted") != rows:
        raise SystemExit(f"the sync did not deliver every row: {result}, emulator: {stats}")


class _Existing:
    """``POSTGRES_URL`` as a context manager, like TemporaryPostgresServer."""

    def __init__(self, url: str) -> None:
        self.server = PostgresServer.from_url(url)

    def __enter__(self) -> PostgresServer:
        return self.server

    def __exit__(self, *exc_info: object) -> None:
        return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.postgres", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="N, rows of the main run (default 1,000,000)")
    parser.add_argument("--concurrency", type=int, default=4, help="batch requests in flight")
    parser.add_argument("--no-3n", action="store_true", help="skip the run at 3 x N")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child()
        return

    started = time.perf_counter()
    url = os.environ.get("POSTGRES_URL")
    with (
        TemporaryPostgresServer() if not url else _Existing(url) as server,
        WorkspaceEmulator(tls=True, in_subprocess=True) as emulator,
    ):
        print(f"Creating {args.rows:,} people x 10 columns in PostgreSQL ...", flush=True)
        create_people(server, "bench_n", args.rows)
        floor_rows, floor_seconds = floor_read(server, "bench_n")
        print(f"(a) floor, bare server-side cursor read: {floor_rows:,} rows in {floor_seconds:.2f} s", flush=True)
        sync = our_sync(server, "bench_n", emulator, args.concurrency)
        check(sync, args.rows, emulator)
        print(f"(b) our sync into the emulator: {sync['rows_sent']:,} rows in {sync['seconds']:.2f} s", flush=True)
        server.drop_database("bench_n")
        big = None
        if not args.no_3n:
            emulator.reset()
            create_people(server, "bench_3n", 3 * args.rows)
            big = our_sync(server, "bench_3n", emulator, args.concurrency)
            check(big, 3 * args.rows, emulator)
            print(f"(b) at 3 x N: {big['rows_sent']:,} rows in {big['seconds']:.2f} s", flush=True)
            server.drop_database("bench_3n")

    print()
    print(f"{'':38}{'rows/s':>12}")
    print(f"{'(a) floor: bare PostgreSQL read':38}{floor_rows / floor_seconds:>12,.0f}")
    print(f"{'(b) our sync from PostgreSQL':38}{sync['rows_sent'] / sync['seconds']:>12,.0f}")
    print(f"b/a: the sync takes {sync['seconds'] / floor_seconds:.2f}x the floor's time")
    print(f"peak RSS of the sync at N = {args.rows:,}: {sync['peak_rss_mb']:.0f} MB")
    if big is not None:
        growth = big["peak_rss_mb"] / sync["peak_rss_mb"] - 1
        print(f"peak RSS at 3 x N = {3 * args.rows:,}: {big['peak_rss_mb']:.0f} MB ({growth:+.1%})")
    print(f"(the sync process holds {sync['baseline_rss_mb']:.0f} MB after importing Airflow and the drivers)")
    print(f"benchmark wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
