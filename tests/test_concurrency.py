"""Requests in flight at once: the lanes' last batches leave together, and a key's ops stay in row order.

Each test reads a real MySQL table and sends through a real ``CustomerIOHook`` to the emulator over
HTTP. Timing is judged from the emulator's request log (when each request arrived) against the
emulator's own added latency, never against wall-clock thresholds of this machine.
"""

from __future__ import annotations

import itertools

import orjson
import pytest
from sync_helpers import run_job

from airflow_provider_cio.hooks.customerio import CustomerIOHook

LATENCY_MS = 400


@pytest.fixture
def hundred_people(mysql_db):
    """100 people: a small incremental sync."""
    mysql_db.execute("CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100), plan VARCHAR(20))")
    mysql_db.insert("users", [{"id": i, "email": f"person{i}@example.com", "plan": "pro"} for i in range(1, 101)])
    return mysql_db


def batch_requests(workspace) -> list[dict]:
    return [entry for entry in workspace.requests_log() if entry["path"] == "/api/v2/batch"]


def waves(starts: list[float], latency: float) -> int:
    """How many rounds of requests: a new round starts after a gap of at least half the latency."""
    starts = sorted(starts)
    return 1 + sum(1 for before, after in itertools.pairwise(starts) if after - before >= latency / 2)


def test_a_small_sync_is_one_request_whatever_the_number_of_lanes(airflow_db, hundred_people, workspace):
    """The lanes' last batches are packed together: 100 rows on 16 lanes are one request, not 16."""
    run = run_job("SELECT id, email, plan FROM users", max_concurrency=16)

    assert run.report.rows_sent == 100
    assert len(batch_requests(workspace)) == 1
    assert len(workspace.people()) == 100


@pytest.fixture
def wide_people(mysql_db):
    """48 people of about 28 kB each: every lane's last batch is over half a request."""
    mysql_db.execute("CREATE TABLE users (id INT PRIMARY KEY)")
    mysql_db.insert("users", [{"id": i} for i in range(1, 49)])
    return mysql_db


def test_the_last_batches_of_every_lane_are_in_flight_together(airflow_db, wide_people, workspace):
    """No lane waits for another lane's last request: with a slow workspace, the last batches of all
    lanes start in the same round (today's full batches in the first round, the last ones in the next)."""
    workspace.faults(latency_ms=LATENCY_MS)
    columns = ", ".join(f"REPEAT('x', 900) AS a{n}" for n in range(30))

    run = run_job(f"SELECT id, {columns} FROM users", concurrency=4)

    assert run.report.rows_sent == 48
    starts = [entry["t"] for entry in batch_requests(workspace)]
    assert len(starts) >= 3, "the lanes' last batches should need several requests"
    assert waves(starts, LATENCY_MS / 1000) <= 2, f"requests started one after another: {sorted(starts)}"
    assert len(workspace.people()) == 48


def test_progress_keeps_coming_while_the_batches_drain(airflow_db, hundred_people, workspace):
    """After the last row is read, progress reports go on until the workspace has answered, counting
    the rows sent and the rows still in flight."""
    workspace.faults(latency_ms=LATENCY_MS)
    reports = []

    run = run_job("SELECT id, email, plan FROM users", progress=reports.append)

    assert run.report.rows_sent == 100
    draining = [report for report in reports if report.rows_read == 100][1:]  # the first: the last block read
    assert draining, "no progress after the last block was read"
    assert any(report.rows_in_flight == 100 and report.rows_accepted == 0 for report in draining)
    assert all(report.rows_accepted + report.rows_in_flight == 100 for report in draining)


@pytest.fixture
def interleaved_steps(mysql_db):
    """37 people x 216 steps, ordered by step: each person's rows are spread over the whole sync, so
    their ops travel in many batches; the ``step`` attribute of the last row is the one that must stay."""
    mysql_db.execute(
        "CREATE TABLE steps (n INT PRIMARY KEY AUTO_INCREMENT, person_id VARCHAR(8), step INT, pad VARCHAR(900))"
    )
    rows = [{"person_id": str(p), "step": s, "pad": "x" * 900} for s in range(1, 217) for p in range(1, 38)]
    for start in range(0, len(rows), 2000):
        mysql_db.insert("steps", rows[start : start + 2000])
    return mysql_db


def test_a_keys_ops_take_effect_in_row_order_while_concurrency_adapts(airflow_db, interleaved_steps, workspace):
    """Each person's relationship ends with the attributes of their last row, while the workspace
    answers 503 now and then (the window halves) and at uneven speeds (requests overtake each other)."""
    ops = [{"type": "person", "identifiers": {"id": str(p)}, "action": "identify"} for p in range(1, 38)]
    ops.append({"type": "object", "identifiers": {"object_type_id": "1", "object_id": "acme"}, "action": "identify"})
    hook = CustomerIOHook()
    assert hook.send_batch([orjson.dumps(op) for op in ops]) == []
    hook.close()
    workspace.faults(seed=3, rate_503=0.15, latency_ms=60, latency_rate=0.5)

    run = run_job(
        "SELECT person_id AS id, 'acme' AS object_id, step, pad FROM steps ORDER BY n",
        import_type="relationships",
        max_concurrency=4,
    )

    assert run.report.error is None and run.report.rows_sent == 37 * 216
    statuses = [entry["status"] for entry in batch_requests(workspace)]
    assert 503 in statuses and len(statuses) > 20
    final = {r["person"]["id"]: r["attributes"]["step"] for r in workspace.relationships()}
    assert final == {str(p): "216" for p in range(1, 38)}
