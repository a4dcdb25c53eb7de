"""``make bench`` at a small N, so the benchmark command cannot rot (no timing is asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from airflow_provider_cio.testing import MySQLServer

ROOT = Path(__file__).resolve().parent.parent


def test_the_benchmark_runs_end_to_end_and_prints_every_figure(mysql_server: MySQLServer) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--rows", "3000", "--naive-sample", "200"],
        cwd=ROOT,
        env={**os.environ, "MYSQL_URL": mysql_server.url},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "(b) our sync into the emulator: 3,000 rows" in out
    assert "(b) at 3 x N: 9,000 rows" in out
    for label in ("(a) floor: bare MySQL read", "(b) our sync", "(c) official client"):
        assert re.search(rf"{re.escape(label)}\s+[\d,]+\n", out), label
    assert re.search(r"b/a: the sync takes [\d.]+x the floor's time", out)
    assert re.search(r"b/c: the sync is [\d,]+x the official client's rows/s", out)
    assert re.search(r"peak RSS at 3 x N = 9,000: \d+ MB", out)
