"""The count identity: every row a sync reads is counted once, as sent, failed, suppressed, not sent (or
unchanged). ``check_counts`` checks it on every report the tests read back (``run_dag``'s XComs,
``run_job``); here it is checked itself, and on one sync in which every count is non-zero."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sync_helpers import person, seed

from airflow_provider_cio.hooks.customerio import CustomerIOHook
from airflow_provider_cio.sources.mysql.stream import MySQLQueryStream
from airflow_provider_cio.sync.job import SyncJob
from airflow_provider_cio.sync.settings import SyncSettings
from airflow_provider_cio.testing.dagruns import CountMismatchError, check_counts

NOTES = 20
"""Twenty 900-byte attributes make each op ~18 kB, so a 500 kB batch holds ~27 rows: the first block of rows
fills one batch and leaves a few rows in the builder."""


def report(**counts: Any) -> dict[str, Any]:
    base = {"rows_read": 0, "rows_sent": 0, "rows_failed": 0, "rows_suppressed": 0, "rows_not_sent": 0}
    return {**base, **counts}


def test_check_counts_accepts_reports_that_add_up_and_names_every_count_when_not() -> None:
    check_counts(report(rows_read=10, rows_sent=4, rows_failed=3, rows_suppressed=2, rows_not_sent=1))
    check_counts(report(rows_read=7, rows_sent=2, rows_unchanged=5))  # mirror mode
    check_counts(report(rows_read=5, rows_failed=1, dry_run=True, would_send={"rows": 4, "ops": 4, "batches": 1}))

    with pytest.raises(CountMismatchError) as mismatch:
        check_counts(report(rows_read=10, rows_sent=4, rows_failed=3, rows_suppressed=2))
    assert "rows_read 10 is not the sum of rows_sent 4, rows_failed 3, rows_suppressed 2, rows_not_sent 0" in str(
        mismatch.value
    )
    with pytest.raises(CountMismatchError):
        check_counts(report(rows_read=5, dry_run=True, would_send={"rows": 4, "ops": 4, "batches": 1}))


def wait_for(condition: Any, what: str, timeout: float = 60.0) -> None:
    """Wait until ``condition()`` holds (an event, not a guess at how long something takes)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.01)


def test_one_sync_sends_fails_suppresses_and_leaves_rows_unsent(mysql_db, workspace) -> None:
    """Row 2 has an invalid email (failed), row 3 is a suppressed person (suppressed), the first batch is sent
    (sent); the sync is then cancelled, so the rows still in the batch builder are never sent (not sent)."""
    seed(person({"id": "3"}, email="three@example.com"))
    workspace.suppress(id="3")
    notes = [f"note{i}" for i in range(NOTES)]
    mysql_db.execute(
        "CREATE TABLE users (n INT PRIMARY KEY, id VARCHAR(20), email VARCHAR(100), "
        + ", ".join(f"{note} TEXT" for note in notes)
        + ")"
    )
    mysql_db.insert(
        "users",
        [
            {"n": n, "id": str(n), "email": "not an email" if n == 2 else f"p{n}@example.com"}
            | {note: "x" * 900 for note in notes}
            for n in range(1, 61)
        ],
    )
    hook = CustomerIOHook()
    job: SyncJob | None = None

    def cancel_once_the_first_batch_is_answered(progress: Any) -> None:
        assert job is not None and job.engine is not None
        engine = job.engine
        wait_for(lambda: engine.result.batches_sent > 0, "the first batch's answer")
        job.cancel()

    job = SyncJob(
        SyncSettings(import_type="people", concurrency=1, fetch_size=30, activity_settle_seconds=0),
        hook,
        progress=cancel_once_the_first_batch_is_answered,
        progress_interval=0,
    )
    stream = MySQLQueryStream("mysql_default")
    try:
        cursor = stream.execute(f"SELECT id, email, {', '.join(notes)} FROM users ORDER BY n", job.text_converters())
        result = job.run(cursor)
    finally:
        stream.close(finished=False)
        job.close()
        hook.close()

    counts = {name: getattr(result, name) for name in ("rows_sent", "rows_failed", "rows_suppressed", "rows_not_sent")}
    assert all(counts.values()), counts
    assert result.rows_read == 30, "the first block only: the sync stopped before reading more"
    assert (result.rows_failed, result.rows_suppressed) == (1, 1)
    check_counts(result)
    people = {p["id"] for p in workspace.people()}
    assert len(people) == result.rows_sent, "every row counted as sent is in the workspace, and only those"
    assert "2" not in people and "3" not in people
    assert result.error is None and result.failed, "stopped early: failed, so last_sync_time does not move"
