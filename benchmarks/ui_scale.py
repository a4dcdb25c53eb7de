"""The "Customer.io syncs" pages at scale: server time of the overview and of one sync's page.

Creates a private metadata database (SQLite, under a temporary AIRFLOW_HOME) holding ``--dags`` DAGs with
one sync task each (serialized as the DAG processor does) and ``--runs`` runs spread over them (a DagRun,
a task instance and a report XCom each; some failed with an error report, some skipped, some pools
missing). Then it calls the plugin through Airflow's whole API app in process (FastAPI's TestClient, a
signed-in admin's JWT), so the figures are server time: auth, queries, rendering; no network, no browser.

    python -m benchmarks.ui_scale                 # 1,000 sync tasks, 50,000 runs
    python -m benchmarks.ui_scale --dags 200 --runs 10000

Prints one JSON object: the median and worst of ``--repeat`` requests per page, the first overview after
a restart (every serialized DAG parsed once), and the number of SQL statements per page.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
CONNECTIONS = ("customerio_default", "workspace_eu", "workspace_new")
"""Sync tasks use these connections in turn; the last one's pool is never created."""


def configure(home: Path) -> None:
    """Point Airflow at a private home and SQLite database (before Airflow is imported)."""
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    (home / "dags").mkdir(parents=True, exist_ok=True)
    (home / "passwords.json").write_text(json.dumps({"admin": uuid.uuid4().hex}))


def create_dags(count: int) -> list[tuple[str, str]]:
    """``count`` DAGs with one sync task each, serialized into the metadata DB; their (dag_id, pool)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.sdk import DAG

    from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
    from airflow_provider_cio.pools import workspace_pool

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=os.devnull)
    made = []
    for n in range(count):
        conn = CONNECTIONS[n % len(CONNECTIONS)] if n % 50 == 0 else CONNECTIONS[n % 2]
        dag_id = f"sync_{n:04d}"
        with DAG(dag_id, schedule="@hourly", start_date=START, catchup=False) as dag:
            MySQLReverseETLOperator(
                task_id="sync", sql="SELECT id, email FROM users", customerio_conn_id=conn, pool=workspace_pool(conn)
            )
        bag.bag_dag(dag)
        made.append((dag_id, workspace_pool(conn)))
    sync_bag_to_db(bag, "dags-folder", None)
    return made


def create_runs(dags: list[tuple[str, str]], runs: int) -> None:
    """``runs`` DagRuns over the DAGs, each with its task instance and report XCom, in bulk inserts."""
    from airflow.models.dag_version import DagVersion
    from airflow.models.dagrun import DagRun
    from airflow.models.pool import Pool
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import insert, select

    per_dag = max(runs // len(dags), 1)
    with create_session() as session:
        versions = dict(session.execute(select(DagVersion.dag_id, DagVersion.id)).all())
        for conn in CONNECTIONS[:2]:
            session.add(Pool(pool=f"customerio_{conn}", slots=1, description="bench", include_deferred=False))
        run_rows, ti_rows, reports = [], [], []
        next_id = 1
        for d, (dag_id, pool) in enumerate(dags):
            for r in range(per_dag):
                when = START + timedelta(hours=r)
                state = "failed" if (d % 7 == 0 and r == per_dag - 1) else "skipped" if r % 13 == 5 else "success"
                seconds = 20.0 + (d % 5) + (r % 3)
                run_id = f"scheduled__{when.isoformat()}"
                run_rows.append(
                    {
                        "id": next_id,
                        "dag_id": dag_id,
                        "run_id": run_id,
                        "run_type": "scheduled",
                        "state": "failed" if state == "failed" else "success",
                        "logical_date": when,
                        "run_after": when,
                        "start_date": when,
                        "end_date": when + timedelta(seconds=seconds),
                        "created_dag_version_id": versions[dag_id],
                    }
                )
                ti_rows.append(
                    {
                        "id": uuid.uuid4(),
                        "dag_id": dag_id,
                        "task_id": "sync",
                        "run_id": run_id,
                        "map_index": -1,
                        "state": state,
                        "pool": pool,
                        "pool_slots": 1,
                        "try_number": 1,
                        "start_date": when,
                        "end_date": when + timedelta(seconds=seconds),
                        "dag_version_id": versions[dag_id],
                    }
                )
                if state != "skipped":
                    failed = 3 if state == "failed" else 0
                    report = {
                        "import_type": "people",
                        "rows_read": 1000 + r,
                        "rows_sent": 1000 + r - failed,
                        "rows_failed": failed,
                        "rows_suppressed": 0,
                        "rows_not_sent": 0,
                        "last_sync_time": 1_767_225_600 + r * 3600,
                        "error_report": f"file:///tmp/{dag_id}-{r}.csv" if failed else None,
                        "errors_by_type": {"invalid_email": failed} if failed else {},
                        "status": state,
                        "duration_seconds": seconds,
                    }
                    reports.append(
                        {
                            "dag_run_id": next_id,
                            "task_id": "sync",
                            "map_index": -1,
                            "key": "return_value",
                            "dag_id": dag_id,
                            "run_id": run_id,
                            "value": XComModel.serialize_value(report),
                            "timestamp": when,
                        }
                    )
                next_id += 1
        session.execute(insert(DagRun.__table__), run_rows)
        session.execute(insert(TaskInstance.__table__), ti_rows)
        session.execute(insert(XComModel.__table__), reports)


def timed(client: Any, url: str, headers: dict[str, str], repeat: int) -> dict[str, Any]:
    """Median and worst server time of ``repeat`` GETs, and the SQL statements of one."""
    from airflow import settings
    from sqlalchemy import event

    statements = []

    def count(*_: Any) -> None:
        statements.append(1)

    seconds = []
    for i in range(repeat):
        if i == 0:
            event.listen(settings.engine, "before_cursor_execute", count)
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        seconds.append(time.perf_counter() - started)
        if i == 0:
            event.remove(settings.engine, "before_cursor_execute", count)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}: {response.text[:300]}")
    return {
        "median_s": round(statistics.median(seconds), 3),
        "worst_s": round(max(seconds), 3),
        "sql_statements": len(statements),
        "bytes": len(response.content),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dags", type=int, default=1000, help="DAGs, one sync task each (default 1,000)")
    parser.add_argument("--runs", type=int, default=50_000, help="runs over all DAGs (default 50,000)")
    parser.add_argument("--repeat", type=int, default=5, help="requests per page (default 5)")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="cio-ui-bench-"))
    configure(home)

    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.utils import db
    from fastapi.testclient import TestClient

    from airflow_provider_cio.plugins.catalog import catalog

    started = time.perf_counter()
    db.resetdb()
    dags = create_dags(args.dags)
    create_runs(dags, args.runs)
    setup_s = time.perf_counter() - started

    client = TestClient(create_app())
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    headers = {"Authorization": f"Bearer {token}"}
    catalog.clear()
    started = time.perf_counter()
    first = client.get("/cio-syncs/", headers=headers)
    cold_s = time.perf_counter() - started
    if first.status_code != 200:
        raise SystemExit(f"the overview answered {first.status_code}: {first.text[:300]}")
    result = {
        "sync_tasks": len(dags),
        "runs": args.runs,
        "setup_s": round(setup_s, 1),
        "overview_first_load_s": round(cold_s, 3),
        "serialized_dags_parsed_first_load": catalog.parsed,
        "overview": timed(client, "/cio-syncs/", headers, args.repeat),
        "overview_filtered": timed(
            client, "/cio-syncs/?status=attention&connection=workspace_eu", headers, args.repeat
        ),
        "sync_page": timed(client, "/cio-syncs/sync?dag_id=sync_0007&task_id=sync", headers, args.repeat),
        "json_one_dag": timed(client, "/cio-syncs/api/syncs?dag_id=sync_0007", headers, args.repeat),
        "serialized_dags_parsed_after": catalog.parsed,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
