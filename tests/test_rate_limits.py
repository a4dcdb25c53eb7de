"""Workspace rate limits: the emulator's Track API limit, the hook's ``requests_per_second`` ceiling, and a
sync that settles under a workspace's limit instead of bouncing off it.

Every claim is read from the emulator's request log (arrival times and statuses), not from timings
taken here.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
from sync_helpers import run_job

from airflow_provider_cio.hooks.customerio import CustomerIOError, CustomerIOHook, RetryPolicy

WIDE_COLUMNS = ", ".join(f"REPEAT('x', 900) AS a{n}" for n in range(30))
"""About 28 kB a row: 16 rows fill a request, so a few hundred rows make many requests."""


ON_THEIR_WAY = 0.1
"""Seconds after a 429 arrived within which requests sent before its answer came back may still arrive."""


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


def test_the_emulators_limit_counts_requests_by_their_arrival_even_when_a_body_comes_late(workspace):
    """A request is checked once its body is read: one that arrived first but finished last still counts at its
    arrival, so no second of arrivals holds more accepted requests than the limit."""
    workspace.settings(track_requests_per_second=2)
    split = urlsplit(workspace.url)
    if split.scheme == "https":
        context = ssl.create_default_context(cafile=workspace.ca_bundle)
        slow = http.client.HTTPSConnection(split.hostname, split.port, context=context, timeout=30)
    else:
        slow = http.client.HTTPConnection(split.hostname, split.port, timeout=30)
    session = requests.Session()
    session.auth = (workspace.site_id, workspace.api_key)
    session.verify = workspace.ca_bundle or True

    def identify(person: str) -> bytes:
        return json.dumps({"batch": [{"type": "person", "action": "identify", "identifiers": {"id": person}}]}).encode()

    started = time.monotonic()
    assert session.post(f"{workspace.url}/api/v2/batch", data=identify("first")).status_code == 200
    body = identify("late")
    slow.putrequest("POST", "/api/v2/batch")
    slow.putheader("Authorization", requests.auth._basic_auth_str(workspace.site_id, workspace.api_key))
    slow.putheader("Content-Type", "application/json")
    slow.putheader("Content-Length", str(len(body)))
    slow.endheaders()
    slow.send(body[:10])  # arrived: the rest of its body comes 1.3 s later
    time.sleep(max(0.0, started + 0.6 - time.monotonic()))
    assert session.post(f"{workspace.url}/api/v2/batch", data=identify("third")).status_code == 200
    time.sleep(max(0.0, started + 1.3 - time.monotonic()))
    slow.send(body[10:])
    late = slow.getresponse()

    assert (late.status, late.getheader("Retry-After")) == (429, "1")
    accepted = [entry for entry in batch_requests(workspace) if entry["status"] == 200]
    assert len(accepted) == 2 and most_in_one_second(accepted) <= 2
    assert sorted(person["id"] for person in workspace.people()) == ["first", "third"]


def test_a_429_pauses_every_thread_of_the_hook_until_its_retry_after(workspace):
    """Eight threads send different bodies through one hook. Once a request is answered 429 with Retry-After,
    no request of any thread arrives before that time has passed, except those already on their way when the
    answer came (they arrive within a moment of it). The resend of the refused body would wait anyway (the
    per-request backoff); the other threads' bodies wait only because of the hook-wide pause."""
    workspace.faults(seed=11, rate_429=0.15, retry_after=1)
    hook = CustomerIOHook(retry=RetryPolicy(max_attempts=12, base_delay=0.05, max_delay=0.5), max_connections=8)
    batches = [
        [
            json.dumps({"type": "person", "action": "identify", "identifiers": {"id": f"{b}-{n}"}}).encode()
            for n in range(5)
        ]
        for b in range(32)
    ]

    with ThreadPoolExecutor(8) as pool:
        assert [error for errors in pool.map(hook.send_batch, batches) for error in errors] == []

    sent = batch_requests(workspace)
    throttled = [entry for entry in sent if entry["status"] == 429]
    assert throttled, "the seed gives some 429s"
    for answer in throttled:
        paused = answer["t"] + ON_THEIR_WAY, answer["t"] + answer["retry_after"]
        too_early = [entry for entry in sent if paused[0] <= entry["t"] < paused[1]]
        assert too_early == [], f"requests within Retry-After of the 429 at {answer['t']}: {too_early}"
    assert len(workspace.people()) == 160


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
