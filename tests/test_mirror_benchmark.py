"""``python -m benchmarks.mirror`` at a small N, so the mirror benchmark cannot rot (no timing is asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from cio_devservers import MySQLServer

ROOT = Path(__file__).resolve().parent.parent


def test_the_mirror_benchmark_runs_end_to_end(mysql_server: MySQLServer) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.mirror", "--rows", "2000"],
        cwd=ROOT,
        env={**os.environ, "MYSQL_URL": mysql_server.url},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"2,000 rows; raw read \(MySQLdb, conv=\{\}\): [\d.]+ s", out)
    assert re.search(r"unchanged .* sent 0, unchanged 2,000;", out)
    assert re.search(r"one_percent .* sent 20, unchanged 1,980;", out)
    assert re.search(r"6,000 rows; .*\n.*\n\s+unchanged .* sent 0, unchanged 6,000; peak RSS \d+ MB", out)
