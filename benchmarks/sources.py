"""``make bench-sources`` / ``python -m benchmarks.sources --rows N``: each tested source's bare read against
our dry run from it, in one run.

For each source (MySQL, PostgreSQL, DuckDB, SQLite, Snowflake on fakesnow):

1. creates N people x 10 columns, the columns of ``make bench`` (:mod:`benchmarks.source_benches`);
2. measures, taken in turns ``--repeat`` times (the median is shown):

   - the bare read: the cheapest way to read every row with the source's own driver, doing nothing with
     the rows (for MySQL line (a) of ``make bench``, for PostgreSQL the floor of ``make bench-postgres``);
   - our dry run: ``SQLReverseETLOperator(conn_id=..., dry_run=True)`` executed in a process of its own
     (:mod:`benchmarks.dry_run_child`): the reader the connection's type picks, and the whole pipeline
     without HTTP;

3. runs the dry run again at 3 x N (unless ``--no-3n``): its peak RSS against the one at N shows whether
   memory stays flat (the goal where the source streams).

Snowflake runs on fakesnow's server (DuckDB behind HTTP, the whole result in one response), which is slow
and holds every table in memory: it gets ``--snowflake-rows`` rows (N / 10 by default), as the table says.
Timings are wall seconds; compare the ratios within one run: the machine may be shared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.source_benches import (
    DuckDBBench,
    MySQLBench,
    PostgresBench,
    SnowflakeBench,
    SourceBench,
    SQLiteBench,
    fake_snowflake_server,
)
from cio_devservers import MySQLServer, PostgresServer, TemporaryMySQLServer, TemporaryPostgresServer

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("mysql", "postgres", "duckdb", "sqlite", "snowflake")
GOAL_RATIO = 5.0


@dataclass
class SourceFigures:
    """What one source measured."""

    source: str
    rows: int
    bare_seconds: float
    dry_seconds: float
    rss_mb: float
    rss_3n_mb: float | None
    baseline_rss_mb: float
    bare_read_is: str

    @property
    def ratio(self) -> float:
        """The dry run's wall time over the bare read's."""
        return self.dry_seconds / self.bare_seconds


def dry_run(bench: SourceBench, label: str) -> dict[str, Any]:
    """Our dry run on ``label`` in a child process (its peak RSS is the dry run's own)."""
    settings = {"env": bench.connection_env(label), "conn_id": bench.conn_id, "query": bench.query(label)}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.dry_run_child"],
        input=json.dumps(settings),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the dry run from {bench.name} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _check(bench: SourceBench, what: str, rows_read: int, rows: int, result: dict[str, Any] | None = None) -> None:
    """Every row must have been read (and none failed), or the figures mean nothing."""
    failed = bool(result and (result["error"] or result["rows_failed"]))
    if rows_read != rows or failed:
        raise SystemExit(f"{bench.name}: the {what} read {rows_read:,} of {rows:,} rows: {result}")


def measure(bench: SourceBench, rows: int, repeat: int, three_n: bool) -> SourceFigures:
    """The bare read and the dry run of ``bench`` at ``rows`` (medians of ``repeat`` runs), and at 3 x ``rows``."""
    print(f"{bench.name}: creating {rows:,} people ...", flush=True)
    bench.create("bench_n", rows)
    try:
        bares, drys = [], []
        for _ in range(repeat):  # in turns, so that a busy moment of the machine hits each alike
            read, seconds = bench.bare_read("bench_n")
            _check(bench, "bare read", read, rows)
            bares.append(seconds)
            drys.append(dry_run(bench, "bench_n"))
            _check(bench, "dry run", drys[-1]["rows_read"], rows, drys[-1])
    finally:
        bench.drop("bench_n")
    bare = sorted(bares)[len(bares) // 2]
    dry = sorted(drys, key=lambda run: run["seconds"])[len(drys) // 2]
    print(f"{bench.name}: bare read {bare:.2f} s, dry run {dry['seconds']:.2f} s", flush=True)
    big = None
    if three_n:
        print(f"{bench.name}: creating {3 * rows:,} people ...", flush=True)
        bench.create("bench_3n", 3 * rows)
        try:
            big = dry_run(bench, "bench_3n")
            _check(bench, "dry run at 3 x N", big["rows_read"], 3 * rows, big)
        finally:
            bench.drop("bench_3n")
        print(f"{bench.name}: dry run at 3 x N {big['seconds']:.2f} s", flush=True)
    return SourceFigures(
        source=bench.name,
        rows=rows,
        bare_seconds=bare,
        dry_seconds=dry["seconds"],
        rss_mb=dry["peak_rss_mb"],
        rss_3n_mb=big["peak_rss_mb"] if big is not None else None,
        baseline_rss_mb=dry["baseline_rss_mb"],
        bare_read_is=bench.bare_read_is,
    )


def show(figures: list[SourceFigures], n: int) -> None:
    """The table: a row per source."""
    print()
    header = f"{'source':22}{'N':>11}{'bare read s':>13}{'dry run s':>11}{'dry/bare':>10}"
    print(header + f"{'RSS at N MB':>13}{'RSS at 3N MB':>14}{'growth':>9}")
    for row in figures:
        name = row.source + (" *" if row.rows != n else "")
        line = f"{name:22}{row.rows:>11,}{row.bare_seconds:>13.2f}{row.dry_seconds:>11.2f}{row.ratio:>9.2f}x"
        line += f"{row.rss_mb:>13.0f}"
        if row.rss_3n_mb is not None:
            line += f"{row.rss_3n_mb:>14.0f}{row.rss_3n_mb / row.rss_mb - 1:>+9.1%}"
        print(line)
    print(f"goal: dry/bare at most {GOAL_RATIO:g}x; peak RSS flat from N to 3 x N where the source streams")
    for row in figures:
        if row.rows != n:
            print(f"* {row.source}: {row.rows:,} rows, not N: fakesnow is slow and holds every table in memory")
    print("bare reads:")
    for row in figures:
        print(f"  {row.source}: {row.bare_read_is}")
    baselines = ", ".join(f"{row.source} {row.baseline_rss_mb:.0f}" for row in figures)
    print(f"RSS of the dry-run process before it starts (Airflow, operator, driver imported), MB: {baselines}")


@contextlib.contextmanager
def _mysql() -> Iterator[MySQLServer]:
    url = os.environ.get("MYSQL_URL")
    if url:
        yield MySQLServer.from_url(url)
        return
    with TemporaryMySQLServer() as server:
        yield server


@contextlib.contextmanager
def _postgres() -> Iterator[PostgresServer]:
    url = os.environ.get("POSTGRES_URL")
    if url:
        yield PostgresServer.from_url(url)
        return
    with TemporaryPostgresServer() as server:
        yield server


@contextlib.contextmanager
def source_bench(name: str, directory: Path) -> Iterator[SourceBench]:
    """The bench of one source, with its server running until the bench is done with it."""
    if name == "mysql":
        with _mysql() as mysql:
            yield MySQLBench(mysql)
    elif name == "postgres":
        with _postgres() as postgres:
            yield PostgresBench(postgres)
    elif name == "duckdb":
        yield DuckDBBench(directory)
    elif name == "sqlite":
        yield SQLiteBench(directory)
    else:
        with fake_snowflake_server(directory / "fakesnow") as snowflake:
            yield SnowflakeBench(snowflake)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sources", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="N, rows of each source (default 1,000,000)")
    parser.add_argument("--snowflake-rows", type=int, default=None, help="rows on fakesnow (default N / 10)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the bare read and the dry run (the median)")
    parser.add_argument("--no-3n", action="store_true", help="skip the dry runs at 3 x N")
    parser.add_argument(
        "--sources", default=",".join(SOURCES), help=f"comma-separated, of {', '.join(SOURCES)} (default: all)"
    )
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.sources.split(",") if name.strip()]
    unknown = set(names) - set(SOURCES)
    if unknown:
        parser.error(f"unknown sources: {', '.join(sorted(unknown))}")
    snowflake_rows = args.snowflake_rows or max(1, args.rows // 10)

    started = time.perf_counter()
    figures = []
    with tempfile.TemporaryDirectory(prefix="cio-bench-sources-") as folder:
        for name in names:
            with source_bench(name, Path(folder)) as bench:
                rows = snowflake_rows if name == "snowflake" else args.rows
                figures.append(measure(bench, rows, args.repeat, not args.no_3n))
    show(figures, args.rows)
    print(f"benchmark wall time: {time.perf_counter() - started:.0f} s")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} (1 min), {load[2]:.1f} (15 min) on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
