"""Workspace rate limits: the emulator's Track API limit, the hook's ``requests_per_second`` ceiling, and a
sync that settles under a workspace's limit instead of bouncing off it.

Every claim is read from the emulator's request log (arrival times and statuses), not from timings
taken here.
"""

from __future__ import annotations

import json

import pytest
import requests
from sync_helpers import run_job

from airflow_provider_cio.hooks.customerio import CustomerIOError, CustomerIOHook

WIDE_COLUMNS = ", ".join(f"REPEAT('x', 900) AS a{n}" for n in range(30))
"""About 28 kB a row: 16 rows fill a request, so a few hundred rows make many requests."""


def batch_requests(workspace) -> list[dict]:
    return [entry for entry in workspace.requests_log() if entry["path"] == "/api/v2/batch"]


def most_in_one_second(entries: list[dict]) -> int:
    """The most requests that arrived within any one second (a sliding window over arrival times)."""
    times = sorted(entry["t"] for entry in entries)
    most, first = 0, 0
    for last, arrival in enumerate(times):
        while arrival - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def use_connection(monkeypatch, workspace, **extra) -> None:
    """Point ``customerio_default`` at the emulator, with these extras added."""
    connection = workspace.connection()
    connection["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_CUSTOMERIO_DEFAULT", json.dumps(connection))


def numbered_table(mysql_db, rows: int) -> None:
    """A table ``users`` with ids 1..rows, built by the server (fast for hundreds of thousands of rows)."""
    digits = ", ".join(f"({n})" for n in range(10))
    mysql_db.execute(
        "CREATE TABLE digits (d INT)",
        f"INSERT INTO digits VALUES {digits}",
        "CREATE TABLE users (id INT PRIMARY KEY)",
        f"""INSERT INTO users SELECT n FROM (
                SELECT 1 + a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d AS n
                FROM digits a, digits b, digits c, digits e, digits f, digits g) numbers
            WHERE n <= {rows}""",
    )


def test_the_emulator_answers_429_over_its_track_limit(workspace):
    """Over ``track_requests_per_second`` within one second: 429 with Retry-After, nothing applied."""
    workspace.settings(track_requests_per_second=3)
    session = requests.Session()
    url = f"{workspace.url}/api/v2/batch"
    auth = (workspace.site_id, workspace.api_key)
    statuses = []
    for n in range(6):
        body = {"batch": [{"type": "person", "action": "identify", "identifiers": {"id": str(n)}}]}
        response = session.post(url, json=body, auth=auth, verify=workspace.ca_bundle or True)
        statuses.append((response.status_code, response.headers.get("Retry-After")))

    assert statuses[:3] == [(200, None)] * 3
    assert (429, "1") in statuses[3:]
    refused = sum(1 for status, _ in statuses if status == 429)
    assert len(workspace.people()) == 6 - refused
    assert [entry["status"] for entry in workspace.requests_log()].count(429) == refused
    assert workspace.settings()["track_requests_per_second"] == 3


def test_the_emulator_refuses_a_bad_rate_limit_and_has_none_by_default(workspace):
    assert workspace.settings()["track_requests_per_second"] is None
    with pytest.raises(ValueError, match="track_requests_per_second must be a positive whole number"):
        workspace.settings(track_requests_per_second=0)


def test_requests_per_second_is_a_ceiling_never_exceeded(airflow_db, mysql_db, workspace, monkeypatch):
    """With ``requests_per_second`` 5 on the connection, no second of the request log holds more than 5
    batch requests, however many lanes are sending, and every row arrives."""
    numbered_table(mysql_db, 320)
    use_connection(monkeypatch, workspace, requests_per_second=5)

    run = run_job(f"SELECT id, {WIDE_COLUMNS} FROM users", concurrency=8)

    assert run.report.rows_sent == 320
    sent = batch_requests(workspace)
    assert len(sent) >= 15
    assert most_in_one_second(sent) <= 5
    assert len(workspace.people()) == 320


def test_a_bad_requests_per_second_is_a_clear_error(workspace, monkeypatch):
    use_connection(monkeypatch, workspace, requests_per_second="fast")

    with pytest.raises(CustomerIOError, match="requests_per_second must be a number over 0"):
        CustomerIOHook().settings  # noqa: B018 - reading the connection raises


def test_a_sync_settles_under_the_workspace_limit(airflow_db, mysql_db, workspace):
    """A workspace that allows 20 requests a second: a 200,000-row sync (with the default ceiling of 100)
    delivers every row, and fewer than 5% of its requests are answered 429."""
    numbered_table(mysql_db, 200_000)
    workspace.settings(track_requests_per_second=20)
    columns = ", ".join(f"REPEAT('x', 100) AS a{n}" for n in range(4))

    run = run_job(f"SELECT id, {columns} FROM users")

    assert run.report.error is None
    assert run.report.rows_sent == 200_000
    sent = batch_requests(workspace)
    throttled = sum(1 for entry in sent if entry["status"] == 429)
    assert most_in_one_second([entry for entry in sent if entry["status"] != 429]) <= 20
    assert len(sent) > 100, "the sync must want more than the limit for this to mean anything"
    assert throttled < 0.05 * len(sent), f"{throttled} of {len(sent)} requests answered 429"
    assert workspace.stats()["POST /api/v2/batch"]["ops"]["accepted"] == 200_000
