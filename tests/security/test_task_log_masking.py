"""A key that code logs in a task is masked in the task log that Airflow's task supervisor writes.

The task runs as in a deployment: ``supervise_task`` (what an executor's worker calls) forks the task process,
which parses the DAG file, reads the connection through the hook (registering its secrets with the
supervisor) and logs; the supervisor writes the task log file. The Execution API is Airflow's own, served in
this process (as ``dag.test()`` serves it).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import textwrap
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

pytestmark = pytest.mark.usefixtures("airflow_db")

TRACK_KEY = "trk-" + secrets.token_hex(16)
APP_KEY = "app-" + secrets.token_hex(16)

DAG_FILE = textwrap.dedent(
    """
    from __future__ import annotations

    import datetime as dt
    import logging

    from airflow.sdk import DAG, task

    with DAG("{dag_id}", schedule=None, start_date=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)):

        @task
        def log_the_keys() -> None:
            from airflow_provider_cio.hooks.customerio import CustomerIOHook

            hook = CustomerIOHook("cio_masked")
            settings = hook.settings
            hook.log.info("HOOK LINE track=%s app=%s", settings.api_key, settings.app_api_key)
            logging.getLogger("some.library").warning("LIBRARY LINE app=%s", settings.app_api_key)

        log_the_keys()
    """
)


def queued_task_instance(dag: Any) -> Any:
    """A DagRun of ``dag`` with its one task instance queued, as the scheduler leaves it for a worker."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.models.dagrun import DagRun
    from airflow.sdk.api.datamodels._generated import TaskInstance as TaskInstanceSDK
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType

    from airflow_provider_cio.testing.dagruns import register_dag

    register_dag(dag)
    run_id = trigger_dag(dag.dag_id, triggered_by=DagRunTriggeredByType.REST_API, logical_date=None).run_id
    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag.dag_id, run_id=run_id).one()
        run.state = DagRunState.RUNNING
        run.start_date = dt.datetime.now(dt.timezone.utc)
        [ti] = run.get_task_instances(session=session)
        ti.try_number += 1
        ti.state = TaskInstanceState.QUEUED
        session.commit()
        return TaskInstanceSDK(
            id=uuid.UUID(str(ti.id)),
            task_id=ti.task_id,
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            try_number=ti.try_number,
            map_index=ti.map_index,
            dag_version_id=uuid.UUID(str(ti.dag_version_id)),
        )


def test_a_key_logged_in_a_task_is_masked_in_the_task_log_the_supervisor_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.api.datamodels._generated import BundleInfo
    from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor, supervise_task

    connection = {
        "conn_type": "customerio",
        "login": "site-masked",
        "password": TRACK_KEY,
        "host": "http://127.0.0.1",
        "port": 9,
        "extra": {"app_api_key": APP_KEY},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CIO_MASKED", orjson.dumps(connection).decode())
    dag_id = f"masking_{secrets.token_hex(4)}"
    dag_file = tmp_path / "masking_dag.py"
    dag_file.write_text(DAG_FILE.format(dag_id=dag_id))
    dag = DagBag(dag_folder=str(dag_file)).get_dag(dag_id)
    ti = queued_task_instance(dag)
    log_path = tmp_path / "task.log"

    exit_code = supervise_task(
        ti=ti,
        bundle_info=BundleInfo(name="dags-folder"),
        dag_rel_path=str(dag_file),
        token="",
        client=InProcessTestSupervisor._api_client(dag),
        log_path=str(log_path),
    )

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    events = [line.get("event", "") for line in lines]
    assert exit_code == 0, events
    assert "HOOK LINE track=*** app=***" in events
    assert "LIBRARY LINE app=***" in events
    text = log_path.read_text()
    assert TRACK_KEY not in text and APP_KEY not in text
