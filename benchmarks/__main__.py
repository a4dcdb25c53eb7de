"""``make bench`` / ``python -m benchmarks``: how fast and how lean a sync is, measured in one run.

1. creates N rows x 10 columns of people in MySQL (a private server unless ``MYSQL_URL`` is set);
2. starts the workspace emulator in its own process (HTTPS, as Customer.io is);
3. measures, on the sync's query:

   - (a) the raw streaming read, no conversion at all (``conv={}``: every value arrives as bytes or
     str): the cost of getting the rows out of MySQL into Python at all, the floor;
   - (a') the same read with the driver's default conversions (``datetime``, ``Decimal``), for reference;
   - (a") the same read as the sync reads (integers converted; dates, times and decimals left as the
     server's text, which the sync converts a column of a block at a time): the part of (d) that is
     reading;
   - (d) a dry run of our sync, in a process of its own: the whole pipeline without HTTP;
   - (b) our sync into the emulator, in a process of its own;
   - (b150) the same with 150 ms of latency added to every Track API request (a workspace far away);
   - (e) the emulator alone: batches of 10-attribute people encoded beforehand, sent from a few threads
     with no sync behind them: the most rows/s (b) could reach on this machine, whatever the sync did;
   - (c) the official ``customerio`` client calling ``identify()`` once per row, on a sample;
   - (c150) the same with 150 ms of latency, on a smaller sample: the comparison a far workspace makes;
   - (ev) an events sync, dry run, over an ``orders`` table of N rows (``benchmarks/events.py``), against
     (ev-a) the raw read of the same query;

4. runs (b) again at 3 x N to show that memory does not grow with rows.

Timings are wall seconds; for (d) and (b) also the sync process's own CPU seconds (user + system) per
row. Compare ratios within one run: the machine may be shared.
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

from airflow_provider_cio.testing import WorkspaceEmulator
from benchmarks.data import COLUMNS, create_people
from benchmarks.emulator_throughput import build_batches, send_all
from benchmarks.events import measure_events
from cio_devservers import MySQLServer, TemporaryMySQLServer

ROOT = Path(__file__).resolve().parent.parent
LATENCY_MS = 150


def read_rows(
    server: MySQLServer, database: str, query: str, *, conv: dict[int, Any] | None
) -> tuple[int, float, float]:
    """(a) / (a') / (a") Stream every row (server-side cursor, 5000 at a time) and do nothing with them.

    :param conv: the driver's converters (``{}``: none, values arrive as bytes or str; None: its defaults).
    :return: rows, wall seconds, this process's CPU seconds (user + system) spent reading.
    """
    connection = server.connect(database, **({"conv": conv} if conv is not None else {}))
    cursor = connection.cursor(MySQLdb.cursors.SSCursor)
    started, cpu_started = time.perf_counter(), time.process_time()
    cursor.execute(query)
    rows = 0
    while block := cursor.fetchmany(5000):
        rows += len(block)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    connection.close()
    return rows, seconds, cpu


def median_run(runs: list[tuple[int, float, float]]) -> tuple[int, float, float]:
    """The read of median wall time among ``runs`` (rows, seconds, CPU seconds each)."""
    return sorted(runs, key=lambda run: run[1])[len(runs) // 2]


def sync_converters() -> dict[int, Any]:
    """The driver's default converters with the sync's on top (``SyncJob.server_text_types``), as the sync reads."""
    from MySQLdb.converters import conversions

    from airflow_provider_cio.sources.mysql.column_types import raw_reads
    from airflow_provider_cio.sync.convert.values import ValueRules

    return {**conversions, **raw_reads(ValueRules("UTC").text_converters())}


def our_sync(
    server: MySQLServer,
    database: str,
    query: str,
    emulator: WorkspaceEmulator,
    concurrency: int | None,
    *,
    dry_run: bool = False,
    profile: str | None = None,
    import_type: str = "people",
    event_name: str | None = None,
) -> dict[str, Any]:
    """(b) / (d) / (ev) Our sync in a child process (its peak RSS and CPU time are the sync's own)."""
    env = {**server.connection_env("mysql_default", database=database), **emulator.connection_env()}
    settings = {
        "env": env,
        "query": query,
        "concurrency": concurrency,
        "profile": profile,
        "dry_run": dry_run,
        "import_type": import_type,
        "event_name": event_name,
    }
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
    parser.add_argument("--concurrency", type=int, default=None, help="fixed requests in flight (default: adaptive)")
    parser.add_argument("--no-3n", action="store_true", help="skip the run at 3 x N")
    parser.add_argument("--profile", metavar="FILE", help="write a pyinstrument profile of the N-row dry run")
    parser.add_argument(
        "--emulator-batches", type=int, default=100, help="batches of about 500 kB (1,800 people) that (e) sends"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a), (a'), (a\") and (d); the median is shown")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    url = os.environ.get("MYSQL_URL")
    n = args.rows
    with (
        TemporaryMySQLServer() if not url else _Existing(url) as server,
        WorkspaceEmulator(tls=True, in_subprocess=True) as emulator,
    ):
        print(f"Creating {n:,} people x 10 columns in MySQL ...", flush=True)
        create_people(server, "bench_n", n)
        query = f"SELECT {COLUMNS} FROM people"
        read_rows(server, "bench_n", query, conv={})  # warms MySQL's buffer pool: every run below reads from memory
        raws, drivers, ours, drys = [], [], [], []
        for _ in range(args.repeat):  # taken in turns, so that a busy moment of the machine hits each alike
            raws.append(read_rows(server, "bench_n", query, conv={}))
            drivers.append(read_rows(server, "bench_n", query, conv=None))
            ours.append(read_rows(server, "bench_n", query, conv=sync_converters()))
            drys.append(our_sync(server, "bench_n", query, emulator, args.concurrency, dry_run=True))
            _check_dry(drys[-1], n)
        raw_rows, raw_seconds, raw_cpu = median_run(raws)
        _, driver_seconds, driver_cpu = median_run(drivers)
        _, ours_seconds, ours_cpu = median_run(ours)
        dry = sorted(drys, key=lambda run: run["seconds"])[len(drys) // 2]
        print(f"(a)  raw read, no conversion (conv={{}}): {raw_rows:,} rows in {raw_seconds:.2f} s", flush=True)
        print(f"(a') read with the driver's conversions: {raw_rows:,} rows in {driver_seconds:.2f} s", flush=True)
        print(f'(a") read as the sync reads: {raw_rows:,} rows in {ours_seconds:.2f} s', flush=True)
        print(f"(d)  dry run of our sync: {dry['rows_read']:,} rows in {dry['seconds']:.2f} s", flush=True)
        if args.profile:
            our_sync(server, "bench_n", query, emulator, args.concurrency, dry_run=True, profile=args.profile)
        events = measure_events(
            server,
            n,
            args.repeat,
            read_rows,
            lambda *where, **kind: our_sync(*where, emulator, args.concurrency, dry_run=True, **kind),
        )
        print(f"(ev) events dry run: {events.dry['rows_read']:,} rows in {events.dry['seconds']:.2f} s", flush=True)
        emulator.reset()
        sync = our_sync(server, "bench_n", query, emulator, args.concurrency)
        _check(sync, n, emulator)
        print(f"(b)  our sync into the emulator: {sync['rows_sent']:,} rows in {sync['seconds']:.2f} s", flush=True)
        emulator.reset()
        bodies, alone_ops = build_batches(args.emulator_batches)
        accepted, alone_seconds = send_all(emulator, bodies, threads=3)
        if accepted != alone_ops:
            raise RuntimeError(f"the emulator accepted {accepted:,} of {alone_ops:,} ops")
        print(f"(e)  the emulator alone: {accepted:,} ops in {alone_seconds:.2f} s", flush=True)
        emulator.reset()
        emulator.faults(latency_ms=LATENCY_MS)
        far = our_sync(server, "bench_n", query, emulator, args.concurrency)
        _check(far, n, emulator)
        print(f"(b150) the same, {LATENCY_MS} ms per request: {far['rows_sent']:,} rows in {far['seconds']:.2f} s")
        sample = min(args.naive_sample, n)
        emulator.reset()
        naive_rows, naive_seconds = naive_client(server, "bench_n", emulator, sample)
        print(f"(c)  official client, identify() per row: {naive_rows:,} rows in {naive_seconds:.2f} s", flush=True)
        emulator.reset()
        emulator.faults(latency_ms=LATENCY_MS)
        far_naive_rows, far_naive_seconds = naive_client(server, "bench_n", emulator, min(args.naive_sample // 100, n))
        print(f"(c150) the same, {LATENCY_MS} ms per request: {far_naive_rows:,} rows in {far_naive_seconds:.2f} s")
        server.execute("DROP DATABASE bench_n")
        big = None
        if not args.no_3n:
            emulator.reset()
            create_people(server, "bench_3n", 3 * n)
            big = our_sync(server, "bench_3n", query, emulator, args.concurrency)
            _check(big, 3 * n, emulator)
            print(f"(b)  at 3 x N: {big['rows_sent']:,} rows in {big['seconds']:.2f} s", flush=True)
            server.execute("DROP DATABASE bench_3n")

    naive_rate = naive_rows / naive_seconds
    print()
    print(f"N = {n:,} rows x 10 columns; the floor is (a), the raw read: {raw_rows / raw_seconds:,.0f} rows/s")
    print(f"{'':44}{'seconds':>9}{'rows/s':>11}{'x floor time':>14}{'CPU us/row':>12}")
    lines = [
        ("(a)  raw read, no conversion: the floor", raw_seconds, raw_cpu),
        ("(a') read with the driver's conversions", driver_seconds, driver_cpu),
        ('(a") read as the sync reads', ours_seconds, ours_cpu),
        ("(d)  dry run: our pipeline, no HTTP", dry["seconds"], dry["cpu_seconds"]),
        ("(b)  sync into the emulator", sync["seconds"], sync["cpu_seconds"]),
        (f"(b150) the same, +{LATENCY_MS} ms a request", far["seconds"], far["cpu_seconds"]),
    ]
    for label, seconds, cpu in lines:
        cpu_text = f"{cpu / n * 1e6:>12.1f}" if cpu is not None else f"{'':>12}"
        print(f"{label:44}{seconds:>9.2f}{n / seconds:>11,.0f}{seconds / raw_seconds:>14.2f}{cpu_text}")
    for label, seconds, cpu in [
        ("(ev-a) raw read of orders: the events floor", events.raw_seconds, events.raw_cpu),
        ("(ev) events dry run, orders x 4 columns", events.dry["seconds"], events.dry["cpu_seconds"]),
    ]:
        print(
            f"{label:44}{seconds:>9.2f}{n / seconds:>11,.0f}{seconds / events.raw_seconds:>14.2f}{cpu / n * 1e6:>12.1f}"
        )
    alone_rate = alone_ops / alone_seconds
    print(f"{'(e)  the emulator alone, no sync behind it':44}{alone_seconds:>9.2f}{alone_rate:>11,.0f}")
    print(f"{'(c)  official client, one row a request':44}{naive_seconds:>9.2f}{naive_rate:>11,.0f}")
    far_naive_rate = far_naive_rows / far_naive_seconds
    print(f"{f'(c150) the same, +{LATENCY_MS} ms a request':44}{far_naive_seconds:>9.2f}{far_naive_rate:>11,.1f}")
    print(f"d/a: the dry run takes {dry['seconds'] / raw_seconds:.2f}x the raw read's time (target: at most 5x)")
    print(f"d/a in CPU: the dry run spends {dry['cpu_seconds'] / raw_cpu:.2f}x the raw read's CPU per row")
    print(
        f"ev/ev-a: the events dry run takes {events.ratio:.2f}x the raw read of its orders' time (target: at most 5x)"
    )
    print(f"b/a: the sync takes {sync['seconds'] / raw_seconds:.2f}x the raw read's time")
    print(
        f"b150/b: with {LATENCY_MS} ms latency the sync keeps {sync['seconds'] / far['seconds']:.0%} of its rows/s "
        "(target: 80%)"
    )
    print(
        f"b/c: the sync is {n / sync['seconds'] / naive_rate:,.0f}x the official client's rows/s "
        "(target: at least 150x)"
    )
    print(
        f"b/e: the sync reaches {n / sync['seconds'] / alone_rate:.0%} of the emulator's own rate; e/c: against this "
        f"emulator on this machine no sync can be more than {alone_rate / naive_rate:,.0f}x the official client"
    )
    print(
        f"b150/c150: {LATENCY_MS} ms away, the sync is {n / far['seconds'] / far_naive_rate:,.0f}x the official client"
    )
    print(
        "CPU per row (the sync process's user + system): "
        f"(d) {dry['cpu_seconds'] / n * 1e6:.1f} us, (b) {sync['cpu_seconds'] / n * 1e6:.1f} us"
    )
    print(f"peak RSS of the sync at N = {n:,}: {sync['peak_rss_mb']:.0f} MB (target: under 200 MB)")
    if big is not None:
        growth = big["peak_rss_mb"] / sync["peak_rss_mb"] - 1
        print(f"peak RSS at 3 x N = {3 * n:,}: {big['peak_rss_mb']:.0f} MB ({growth:+.1%}; target: within 10%)")
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


def _check_dry(result: dict[str, Any], rows: int) -> None:
    """The dry run must have read every row without an error."""
    if result["error"] or result["rows_read"] != rows:
        raise SystemExit(f"the dry run did not read every row: {result}")


if __name__ == "__main__":
    main()
