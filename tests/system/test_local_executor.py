"""Syncs under a real scheduler with the LocalExecutor, on a PostgreSQL metadata database (issue 12).

One deployment for the module: ``airflow api-server`` + ``scheduler`` + ``dag-processor``. The tests run
on it in any order; each unpauses only its own DAGs (tests/system/dags/system_dags.py) and reads only
their runs.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_examples import SYNC_TASKS, expected_people, source_state, sql_statements, workspace_state

from airflow_provider_cio.pools import workspace_pool
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.urls import error_report_path
from cio_devservers import MySQLServer, PostgresServer

from .conftest import EXAMPLES, SourceTables, workspace_people
from .deployment import Deployment, unix, wait_for

pytestmark = pytest.mark.timeout(900)  # the first test also starts the deployment
POOL = workspace_pool("customerio_default")
TICK = timedelta(seconds=4)


@pytest.fixture(scope="module")
def local(
    postgres_server: PostgresServer,
    metadata_database: str,
    mysql_server: MySQLServer,
    source: SourceTables,
    emulator_server: WorkspaceEmulator,
    dags_folder: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployment]:
    """The LocalExecutor deployment, with the workspace's one-slot pool."""
    emulator_server.reset()
    env = {
        **mysql_server.connection_env("mysql_default", database=source.database),
        **emulator_server.connection_env("customerio_default"),
    }
    workdir = tmp_path_factory.mktemp("local")
    deployment = Deployment("LocalExecutor", postgres_server, metadata_database, workdir, env, dags_folder)
    try:
        deployment.start(
            ["cio_sys_pool_a", "cio_sys_pool_b", "cio_sys_ticks", "cio_sys_killed", "cio_sys_bad_rows", *SYNC_TASKS]
        )
        deployment.create_pool(POOL)
        yield deployment
    finally:
        deployment.stop()
        emulator_server.faults()


def test_two_dags_on_one_pool_never_overlap(local: Deployment, source: SourceTables, emulator_server: Any) -> None:
    source.create("people_pool", 3000)
    emulator_server.faults(latency_ms=500)  # each sync (4 batches) takes a few seconds
    for dag_id in ("cio_sys_pool_a", "cio_sys_pool_b"):
        local.set_paused(dag_id, False)
    runs = [(dag_id, local.trigger(dag_id)) for _ in range(2) for dag_id in ("cio_sys_pool_a", "cio_sys_pool_b")]
    states = [local.wait_for_run(dag_id, run_id) for dag_id, run_id in runs]
    emulator_server.faults()

    assert states == ["success"] * 4
    intervals = sorted(
        (ti["start_date"], ti["end_date"]) for ti in local.task_instances(["cio_sys_pool_a", "cio_sys_pool_b"])
    )
    assert len(intervals) == 4
    overlaps = [(a, b) for a, b in itertools.pairwise(intervals) if b[0] < a[1]]
    assert overlaps == [], "two syncs of the one-slot pool ran at the same time"


def test_ticks_during_a_long_sync_are_skipped_then_caught_up(
    local: Deployment, source: SourceTables, emulator_server: Any
) -> None:
    source.create("people_ticks", 2000)
    emulator_server.faults(latency_ms=6000)  # a sync (2 batches) outlasts three ticks
    local.set_paused("cio_sys_ticks", False)
    try:
        wait_for(lambda: successes(local, "cio_sys_ticks") >= 1, 300, "the first tick's sync", local.logs)
        source.touch("people_ticks", "pro")
        wait_for(lambda: successes(local, "cio_sys_ticks") >= 3, 300, "three syncs", local.logs)
    finally:
        local.set_paused("cio_sys_ticks", True)
        emulator_server.faults()
    runs = [run for run in local.dag_runs("cio_sys_ticks") if run["state"] == "success"][:3]

    for earlier, later in itertools.pairwise(runs):
        assert later["start_date"] >= earlier["end_date"], "max_active_runs=1: one run at a time"
        report = local.xcom("cio_sys_ticks", later["run_id"], "sync")
        assert report["last_sync_time"] == unix(earlier["start_date"])
    # Ticks without a run: with catchup they would be consecutive. Airflow 3.3 computes a DAG's next tick
    # when it creates a run, so the run after a long sync is for the tick after the last run's; the one
    # after that jumps to the latest tick.
    ticks = (runs[-1]["logical_date"] - runs[0]["logical_date"]) / TICK
    assert ticks > len(runs) - 1, [run["logical_date"].isoformat() for run in runs]
    first = local.xcom("cio_sys_ticks", runs[0]["run_id"], "sync")
    assert (first["last_sync_time"], first["rows_sent"]) == (0, 2000)
    people = source.people("people_ticks")
    assert workspace_people(emulator_server, set(people)) == people


def test_a_sigkilled_task_loses_nothing_on_the_next_run(
    local: Deployment, source: SourceTables, emulator_server: Any
) -> None:
    source.create("people_killed", 5000)
    local.set_paused("cio_sys_killed", False)
    first = local.trigger("cio_sys_killed")
    assert local.wait_for_run("cio_sys_killed", first) == "success"

    source.touch("people_killed", "team")
    emulator_server.faults(latency_ms=1500)
    accepted = accepted_ops(emulator_server)
    killed = local.trigger("cio_sys_killed")
    wait_for(lambda: accepted_ops(emulator_server) > accepted, 300, "the second sync sending", local.logs)
    (task,) = [ti for ti in local.task_instances(["cio_sys_killed"]) if ti["run_id"] == killed]
    os.kill(task["pid"], signal.SIGKILL)
    assert local.wait_for_run("cio_sys_killed", killed) == "failed"
    emulator_server.faults()
    people = source.people("people_killed")
    assert workspace_people(emulator_server, set(people)) != people, "the kill landed mid-sync"

    last = local.trigger("cio_sys_killed")
    assert local.wait_for_run("cio_sys_killed", last) == "success"
    report = local.xcom("cio_sys_killed", last, "sync")
    first_start = next(run["start_date"] for run in local.dag_runs("cio_sys_killed") if run["run_id"] == first)
    assert report["last_sync_time"] == unix(first_start), "the killed run left no watermark"
    assert report["rows_sent"] == 5000
    assert workspace_people(emulator_server, set(people)) == people


def test_the_page_lists_the_runs_and_serves_the_error_report(local: Deployment, source: SourceTables) -> None:
    base = source.create("people_bad", 20, bad_ids=(7,))
    local.set_paused("cio_sys_bad_rows", False)
    failed = local.trigger("cio_sys_bad_rows")
    assert local.wait_for_run("cio_sys_bad_rows", failed) == "failed"
    source.server.execute(
        f"UPDATE people_bad SET email = 'fixed@example.com' WHERE id = {base + 7}", database=source.database
    )
    fixed = local.trigger("cio_sys_bad_rows")
    assert local.wait_for_run("cio_sys_bad_rows", fixed) == "success"

    listed = local.api("GET", "/cio-syncs/api/syncs", params={"dag_id": "cio_sys_bad_rows", "runs": 10})
    assert listed.ok, listed.text
    (task,) = listed.json()
    assert (task["dag_id"], task["task_id"]) == ("cio_sys_bad_rows", "sync")
    assert [(run["run_id"], run["state"], run["report"]["rows_failed"]) for run in task["runs"]] == [
        (fixed, "success", 0),
        (failed, "failed", 1),
    ]

    download = local.api("GET", error_report_path("cio_sys_bad_rows", "sync", failed))
    assert download.ok, download.text
    written = Path(task["runs"][1]["report"]["error_report"].removeprefix("file://"))
    assert written.is_relative_to(local.home), "the default storage: file://$AIRFLOW_HOME"
    assert download.text == written.read_text()
    (row,) = csv.DictReader(io.StringIO(download.text))
    assert (row["row_number"], row["identifier"]) == ("7", str(base + 7)), row


def successes(deployment: Deployment, dag_id: str) -> int:
    """Successful runs of a DAG so far."""
    return sum(run["state"] == "success" for run in deployment.dag_runs(dag_id))


def accepted_ops(workspace: Any) -> int:
    """Batch ops the workspace accepted so far."""
    return workspace.stats().get("POST /api/v2/batch", {}).get("ops", {}).get("accepted", 0)


def test_the_example_dags_run_under_the_scheduler(
    local: Deployment, source: SourceTables, emulator_server: Any
) -> None:
    source.server.execute(
        *sql_statements(EXAMPLES / "sql" / "schema.sql"),
        *sql_statements(EXAMPLES / "sql" / "sample_data.sql"),
        database=source.database,
    )
    reports = {}
    for dag_id, task_ids in SYNC_TASKS.items():  # people first: the memberships need them
        local.set_paused(dag_id, False)  # the scheduler runs the latest interval of the DAG's own schedule
        try:
            run = wait_for(lambda d=dag_id: local.dag_runs(d), 120, f"a scheduled run of {dag_id}", local.logs)[0]
            assert (run["run_type"], local.wait_for_run(dag_id, run["run_id"])) == ("scheduled", "success")
        finally:
            local.set_paused(dag_id, True)
        reports.update({task_id: local.xcom(dag_id, run["run_id"], task_id) for task_id in task_ids})

    assert {task_id: report["rows_sent"] for task_id, report in reports.items()} == {
        "sync_people": 6,
        "sync_companies": 3,
        "sync_memberships": 5,
        "sync_signups": 3,
    }
    expected = expected_people(source, {})
    held = {
        person["email"]: {"id": person["id"], "attributes": person["attributes"]}
        for person in emulator_server.people()
        if person["email"] in expected
    }
    assert held == expected
    assert workspace_state(emulator_server) == source_state(source)
