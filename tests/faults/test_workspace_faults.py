"""A bad day at the workspace (issue 7, items 1 and 2): faults are retried and lose nothing; a workspace down
for good fails the sync, which the next run repeats.

Real DagRuns (``dag.test()``), the session's MySQL server, the emulator over HTTP with injected faults.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import run_dag

from .support import (
    Watcher,
    create_people,
    ops_accepted,
    people_dag,
    source_people,
    touch_people,
    unix,
    workspace_people,
)

pytestmark = pytest.mark.usefixtures("airflow_db")

FAULTY_DAY = people_dag("faults_workspace_faulty_day", concurrency=8)


def test_100000_people_arrive_whole_through_a_fifth_of_requests_failing(
    mysql_db: Any, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    create_people(mysql_db, 100_000, clock)
    workspace.faults(seed=14, rate_429=0.05, rate_500=0.05, rate_503=0.05, rate_drop=0.05, retry_after=1, latency_ms=50)

    outcome = run_dag(FAULTY_DAY, clock + timedelta(hours=1))

    report = outcome.xcom("sync")
    assert outcome.task_states["sync"] == "success", report
    assert (report["status"], report["rows_read"], report["rows_sent"]) == ("success", 100_000, 100_000)
    assert (report["rows_failed"], report["rows_not_sent"], report["error"]) == (0, 0, None)
    assert workspace_people(workspace) == source_people(mysql_db)

    log = workspace.requests_log()
    batches = [entry for entry in log if entry["path"] == "/api/v2/batch"]
    faults = Counter(entry["fault"] for entry in batches)
    assert min(faults["429"], faults["500"], faults["503"], faults["drop"]) > 0, faults
    assert sum(faults[kind] for kind in ("429", "500", "503", "drop")) >= 0.15 * len(batches), faults
    assert report["requests_sent"] == len(log)  # every attempt, retries included, is in the emulator's log

    # Each faulted batch was sent again (same body), and never before the Retry-After of its 429 had passed.
    for position, entry in enumerate(batches):
        if entry["fault"] in ("429", "500", "503", "drop"):
            resends = [later for later in batches[position + 1 :] if later["body_sha1"] == entry["body_sha1"]]
            assert resends, entry
            if entry["fault"] == "429":
                assert entry["retry_after"] == 1
                assert resends[0]["t"] - entry["t"] >= entry["retry_after"], (entry, resends[0])


WORKSPACE_DOWN = people_dag("faults_workspace_down", concurrency=1, request_attempts=3)


def test_a_workspace_down_for_good_fails_the_sync_and_the_next_run_sends_everything(
    mysql_db: Any, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    first, failing, recovered = (clock + timedelta(hours=hour) for hour in (1, 2, 3))
    create_people(mysql_db, 10_000, clock)
    assert run_dag(WORKSPACE_DOWN, first).xcom("sync")["rows_sent"] == 10_000

    touch_people(mysql_db, first + timedelta(minutes=30), plan="enterprise")
    accepted_before = ops_accepted(workspace)
    workspace.faults(latency_ms=100)  # a slow workspace, so that it goes down mid-sync
    with Watcher(
        lambda: ops_accepted(workspace) > accepted_before, lambda: workspace.faults(rate_503=1.0, latency_ms=100)
    ) as outage:
        outcome = run_dag(WORKSPACE_DOWN, failing)
    assert outage.fired.is_set()

    report = outcome.xcom("sync")
    assert (outcome.state, outcome.task_states["sync"], report["status"]) == ("failed", "failed", "failed")
    assert report["error"].startswith(
        "CustomerIOUnavailableError: POST /api/v2/batch on connection 'customerio_default' kept failing: "
        "gave up after 3 attempts"
    )
    assert report["error"].endswith("(last: HTTP 503)")
    # The report counts exactly what the workspace took before it went down, and what it never got.
    upgraded = sum(person["attributes"]["plan"] == "enterprise" for person in workspace.people())
    assert 0 < report["rows_sent"] == upgraded == ops_accepted(workspace) - accepted_before < 10_000
    assert report["rows_sent"] + report["rows_not_sent"] == report["rows_read"]
    assert report["last_sync_time"] == unix(first)

    workspace.faults()
    report = run_dag(WORKSPACE_DOWN, recovered).xcom("sync")
    assert report["last_sync_time"] == unix(first)  # the failed run did not advance it
    assert (report["status"], report["rows_read"], report["rows_sent"]) == ("success", 10_000, 10_000)
    assert workspace_people(workspace) == source_people(mysql_db)
