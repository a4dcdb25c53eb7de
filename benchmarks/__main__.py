"""``make bench`` / ``python -m benchmarks``: how fast and how lean a sync is, measured in one run.

1. creates N rows x 10 columns of people in MySQL (a private server unless ``MYSQL_URL`` is set);
2. starts the workspace emulator in its own process (HTTPS, as Customer.io is);
3. measures (a) the bare streaming read of the sync's query (mysqlclient, server-side cursor): the floor;
   (b) our sync into the emulator, in a process of its own (rows/s, peak RSS);
   (c) the official ``customerio`` client calling ``identify()`` once per row on a sample;
4. runs (b) again at 3 x N to show that memory does not grow with rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import MySQLdb
import MySQLdb.cursors

from airflow_provider_cio.testing import MySQLServer, TemporaryMySQLServer, WorkspaceEmulator
from benchmarks.data import COLUMNS, create_people

ROOT = Path(__file__).resolve().parent.parent


def floor_read(server: MySQLServer, database: str, query: str) -> tuple[int, float]:
    """(a) Stream every row with the driver's defaults and do nothing with them."""
    connection = server.connect(database)
    cursor = connection.cursor(MySQLdb.cursors.SSCursor)
    started = time.perf_counter()
    cursor.execute(query)
    rows = 0
    while block := cursor.fetchmany(5000):
        rows += len(block)
    seconds = time.perf_counter() - started
    connection.close()
    return rows, seconds


def our_sync(
    server: MySQLServer, database: str, query: str, emulator: WorkspaceEmulator, concurrency: int, profile: str | None
) -> dict[str, Any]:
    """(b) Our sync in a child process (its peak RSS is the sync's own)."""
    env = {**server.connection_env("mysql_default", database=database), **emulator.connection_env()}
    settings = {"env": env, "query": query, "concurrency": concurrency, "profile": profile}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.sync_child"],
        input=json.dumps(settings),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the sync process failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def naive_client(server: MySQLServer, database: str, emulator: WorkspaceEmulator, sample: int) -> tuple[int, float]:
    """(c) The official client: one ``identify()`` (one HTTPS request) per row."""
    from customerio import CustomerIO

    os.environ["REQUESTS_CA_BUNDLE"] = emulator.ca_bundle or ""  # the client has no CA option of its own
    client = CustomerIO(emulator.site_id, emulator.api_key, host=emulator.host, port=emulator.port)
    connection = server.connect(database)
    cursor = connection.cursor(MySQLdb.cursors.SSCursor)
    started = time.perf_counter()
    cursor.execute(f"SELECT {COLUMNS} FROM people ORDER BY id LIMIT {sample}")
    names = [column[0] for column in cursor.description]
    rows = 0
    for row in cursor.fetchall():
        attributes = dict(zip(names, row, strict=True))
        person_id = attributes.pop("id")
        for name in ("created_at", "updated_at"):
            attributes[name] = int(attributes[name].timestamp())
        attributes["score"] = str(attributes["score"])
        client.identify(id=person_id, **attributes)
        rows += 1
    seconds = time.perf_counter() - started
    connection.close()
    return rows, seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="N, rows of the main run (default 1,000,000)")
    parser.add_argument("--naive-sample", type=int, default=20_000, help="rows for the official client")
    parser.add_argument("--concurrency", type=int, default=4, help="batch requests in flight")
    parser.add_argument("--no-3n", action="store_true", help="skip the run at 3 x N")
    parser.add_argument("--profile", metavar="FILE", help="write a pyinstrument profile of the N-row sync")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    url = os.environ.get("MYSQL_URL")
    with (
        TemporaryMySQLServer() if not url else _Existing(url) as server,
        WorkspaceEmulator(tls=True, in_subprocess=True) as emulator,
    ):
        print(f"Creating {args.rows:,} people x 10 columns in MySQL ...", flush=True)
        create_people(server, "bench_n", args.rows)
        query = f"SELECT {COLUMNS} FROM people"
        floor_rows, floor_seconds = floor_read(server, "bench_n", query)
        print(f"(a) floor, bare streaming read: {floor_rows:,} rows in {floor_seconds:.2f} s", flush=True)
        sync = our_sync(server, "bench_n", query, emulator, args.concurrency, args.profile)
        _check(sync, args.rows, emulator)
        print(f"(b) our sync into the emulator: {sync['rows_sent']:,} rows in {sync['seconds']:.2f} s", flush=True)
        sample = min(args.naive_sample, args.rows)
        emulator.reset()
        naive_rows, naive_seconds = naive_client(server, "bench_n", emulator, sample)
        print(f"(c) official client, identify() per row: {naive_rows:,} rows in {naive_seconds:.2f} s", flush=True)
        server.execute("DROP DATABASE bench_n")
        big = None
        if not args.no_3n:
            emulator.reset()
            create_people(server, "bench_3n", 3 * args.rows)
            big = our_sync(server, "bench_3n", query, emulator, args.concurrency, None)
            _check(big, 3 * args.rows, emulator)
            print(f"(b) at 3 x N: {big['rows_sent']:,} rows in {big['seconds']:.2f} s", flush=True)
            server.execute("DROP DATABASE bench_3n")

    floor_rate = floor_rows / floor_seconds
    sync_rate = sync["rows_sent"] / sync["seconds"]
    naive_rate = naive_rows / naive_seconds
    print()
    print(f"{'':34}{'rows/s':>12}")
    print(f"{'(a) floor: bare MySQL read':34}{floor_rate:>12,.0f}")
    print(f"{'(b) our sync':34}{sync_rate:>12,.0f}")
    print(f"{'(c) official client':34}{naive_rate:>12,.0f}")
    print(f"b/a: the sync takes {sync['seconds'] / floor_seconds:.2f}x the floor's time (target: within 4x)")
    print(f"b/c: the sync is {sync_rate / naive_rate:,.0f}x the official client's rows/s (target: at least 100x)")
    print(f"peak RSS of the sync at N = {args.rows:,}: {sync['peak_rss_mb']:.0f} MB (target: under 200 MB)")
    if big is not None:
        growth = big["peak_rss_mb"] / sync["peak_rss_mb"] - 1
        print(f"peak RSS at 3 x N = {3 * args.rows:,}: {big['peak_rss_mb']:.0f} MB ({growth:+.1%}; target: within 10%)")
    print(f"(the sync process holds {sync['baseline_rss_mb']:.0f} MB after importing Airflow and the drivers)")
    print(f"benchmark wall time: {time.perf_counter() - started:.0f} s")


class _Existing:
    """``MYSQL_URL`` as a context manager, like TemporaryMySQLServer."""

    def __init__(self, url: str) -> None:
        self.server = MySQLServer.from_url(url)

    def __enter__(self) -> MySQLServer:
        return self.server

    def __exit__(self, *exc_info: object) -> None:
        return None


def _check(result: dict[str, Any], rows: int, emulator: WorkspaceEmulator) -> None:
    """Every row must have arrived, or the figures mean nothing."""
    stats = emulator.stats().get("POST /api/v2/batch", {}).get("ops", {})
    if result["error"] or result["rows_sent"] != rows or stats.get("accepted") != rows:
        raise SystemExit(f"the sync did not deliver every row: {result}, emulator: {stats}")


if __name__ == "__main__":
    main()
