"""Progress lines in the task log of a running sync: rows read and sent, rows per second, spaced in time.

Each test runs a real DagRun (``dag.test()``, whose task log goes to standard output) reading a real
MySQL table into the emulator. ``progress_interval=0`` logs after every block of rows fetched, so the
lines are predictable without timing anything; a long interval shows the lines are held back.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, timezone

import pytest
from airflow.sdk import DAG

from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing.dagruns import run_dag

PROGRESS = re.compile(r"Progress: (\d+) rows read, (\d+) (sent|would be sent), (\d+) rows/s, (\d+) in flight")
START = datetime(2025, 3, 1, tzinfo=timezone.utc)
_dates = (START + timedelta(days=n) for n in itertools.count())
_dags = itertools.count(1)


@pytest.fixture
def users(mysql_db):
    """50 people in MySQL."""
    mysql_db.execute("CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100), plan VARCHAR(20))")
    mysql_db.insert("users", [{"id": i, "email": f"person{i}@example.com", "plan": "platinum"} for i in range(1, 51)])
    return mysql_db


def sync_once(capsys: pytest.CaptureFixture[str], **operator_kwargs) -> tuple[str, list[tuple[int, int, str]], str]:
    """Run a one-task sync DAG; return the task state, the progress lines (read, sent, wording) and the log."""
    with DAG(f"progress_{next(_dags)}", schedule=None, start_date=START) as dag:
        MySQLReverseETLOperator(
            task_id="sync",
            sql="SELECT id, email, plan FROM users ORDER BY id",
            fetch_size=10,
            activity_settle_seconds=0,
            **operator_kwargs,
        )
    capsys.readouterr()
    outcome = run_dag(dag, next(_dates))
    log = capsys.readouterr().out
    lines = [(int(m[1]), int(m[2]), m[3]) for m in PROGRESS.finditer(log)]
    return outcome.task_states["sync"], lines, log


def test_progress_after_each_block_counts_rows_read_and_sent_without_row_data(airflow_db, users, workspace, capsys):
    state, lines, log = sync_once(capsys, progress_interval=0)

    assert state == "success"
    reads = [read for read, _, _ in lines]
    assert reads[:5] == [10, 20, 30, 40, 50]
    assert set(reads[5:]) <= {50}, "lines after the last block come while the batches drain"
    assert all(wording == "sent" for _, _, wording in lines)
    sent = [sent for _, sent, _ in lines]
    assert sent == sorted(sent)
    assert all(sent <= read for read, sent, _ in lines)
    assert "people: 50 rows read, 50 sent, 0 failed" in log
    assert len(workspace.people()) == 50
    progress_lines = [line for line in log.splitlines() if "Progress:" in line]
    assert len(progress_lines) == 5
    assert not any("@example.com" in line or "platinum" in line for line in progress_lines)


def test_no_progress_line_before_the_interval_has_passed(airflow_db, users, workspace, capsys):
    state, lines, log = sync_once(capsys, progress_interval=3600)

    assert state == "success"
    assert lines == []
    assert "people: 50 rows read, 50 sent" in log


def test_a_dry_run_says_would_be_sent(airflow_db, users, workspace, capsys):
    state, lines, _ = sync_once(capsys, progress_interval=0, dry_run=True)

    assert state == "success"
    reads = [read for read, _, _ in lines]
    assert reads[:5] == [10, 20, 30, 40, 50]
    assert set(reads[5:]) <= {50}, "lines after the last block come while the batches drain"
    assert {wording for _, _, wording in lines} == {"would be sent"}
    assert workspace.people() == []
