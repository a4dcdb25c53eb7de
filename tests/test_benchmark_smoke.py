"""``make bench`` at a small N, so the benchmark command cannot rot (no timing is asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from cio_devservers import MySQLServer, PostgresServer

ROOT = Path(__file__).resolve().parent.parent


def test_the_benchmark_runs_end_to_end_and_prints_every_figure(mysql_server: MySQLServer) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--rows", "3000", "--naive-sample", "200", "--emulator-batches", "3"],
        cwd=ROOT,
        env={**os.environ, "MYSQL_URL": mysql_server.url},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "(d)  dry run of our sync: 3,000 rows" in out
    assert "(b)  our sync into the emulator: 3,000 rows" in out
    assert "(b150) the same, 150 ms per request: 3,000 rows" in out
    assert "(b)  at 3 x N: 9,000 rows" in out
    assert "(ev) events dry run: 3,000 rows" in out
    labels = ["(a)  raw read, no conversion: the floor", "(d)  dry run", "(b)  sync into", "(b150) the same"]
    for label in [*labels, "(ev-a) raw read of orders: the events floor", "(ev) events dry run, orders"]:
        assert re.search(rf"{re.escape(label)}.*\s[\d.]+\s+[\d,]+\s+[\d.]+", out), label
    assert re.search(r"\(c\)  official client, one row a request\s+[\d.]+\s+[\d,]+\n", out)
    assert re.search(r"\(e\)  the emulator alone, no sync behind it\s+[\d.]+\s+[\d,]+\n", out)
    assert re.search(
        r"b/e: the sync reaches \d+% of the emulator's own rate; e/c: .* more than [\d,]+x the official", out
    )
    assert re.search(r"d/a: the dry run takes [\d.]+x the raw read's time", out)
    assert re.search(r"ev/ev-a: the events dry run takes [\d.]+x the raw read of its orders' time", out)
    assert re.search(r"b150/b: with 150 ms latency the sync keeps \d+% of its rows/s", out)
    assert re.search(r"b150/c150: 150 ms away, the sync is [\d,]+x the official client", out)
    assert re.search(r"d/a in CPU: the dry run spends [\d.]+x the raw read.s CPU per row", out)
    assert re.search(r"b/c: the sync is [\d,]+x the official client's rows/s", out)
    assert re.search(r"CPU per row \(the sync process's user \+ system\): \(d\) [\d.]+ us, \(b\) [\d.]+ us", out)
    assert re.search(r"peak RSS at 3 x N = 9,000: \d+ MB", out)


def test_the_sources_benchmark_prints_a_row_per_source(
    mysql_server: MySQLServer, postgres_server: PostgresServer
) -> None:
    """``make bench-sources`` at a tiny N: a row per source with both timings, the ratio and both peak RSS."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.sources", "--rows", "2000", "--snowflake-rows", "200", "--repeat", "1"],
        cwd=ROOT,
        env={**os.environ, "MYSQL_URL": mysql_server.url, "POSTGRES_URL": postgres_server.url},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for source, rows in [
        ("MySQL", "2,000"),
        ("PostgreSQL", "2,000"),
        ("DuckDB", "2,000"),
        ("SQLite", "2,000"),
        (r"Snowflake \(fakesnow\) \*", "200"),
    ]:
        figures = r"\s+[\d.]+\s+[\d.]+\s+[\d.]+x\s+\d+\s+\d+\s+[+-][\d.]+%$"  # seconds, seconds, ratio, RSS, RSS
        assert re.search(rf"^{source}\s+{rows}{figures}", out, re.M), source
    assert "* Snowflake (fakesnow): 200 rows, not N" in out
    assert re.search(r"goal: dry/bare at most 5x", out)
