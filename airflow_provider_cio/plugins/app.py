"""The plugin's FastAPI app, mounted on the Airflow API server at ``/cio-syncs``.

Every route needs a signed-in Airflow user, checked the way the API server checks its own routes (a JWT
in the ``Authorization: Bearer`` header, or the UI's session cookie), and shows only DAGs whose XComs
the user may read. An anonymous request gets 401 and no data.

- ``GET /cio-syncs/``: the "Customer.io syncs" page (HTML).
- ``GET /cio-syncs/api/syncs``: the same as JSON.
- ``GET /cio-syncs/error-report?dag_id=&task_id=&run_id=&map_index=``: one run's error CSV.

Airflow's server modules are imported inside the routes: the plugin is also loaded by every task
process, which must not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from airflow_provider_cio.plugins.downloads import ErrorReportUnavailable, chunks, open_error_report
from airflow_provider_cio.plugins.page import render_page
from airflow_provider_cio.plugins.runs import SyncTaskRuns, find_sync_tasks, read_report, recent_runs
from airflow_provider_cio.plugins.urls import URL_PREFIX

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DEFAULT_RUNS = 10
MAX_RUNS = 100

app = FastAPI(title="Customer.io syncs", description="Sync runs of airflow-provider-cio and their error reports")
bearer = HTTPBearer(auto_error=False)


async def signed_in_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Any:
    """The Airflow user of the request; 401 when there is none, 403 for an invalid token."""
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, _oauth_token=None, bearer_credentials=credentials)


UserDep = Annotated[Any, Depends(signed_in_user)]
RunsParam = Annotated[int, Query(ge=1, le=MAX_RUNS, description="runs shown per sync task")]


def xcom_readable_dag_ids(session: Session, user: Any, dag_ids: set[str] | None = None) -> set[str]:
    """The DAGs (of ``dag_ids``, or all) whose XComs, and so sync reports, the user may read."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.models.dag import DagModel

    auth_manager = get_auth_manager()
    readable = auth_manager.get_authorized_dag_ids(user=user, method="GET", session=session)
    if dag_ids is not None:
        readable &= dag_ids
    teams = DagModel.get_dag_id_to_team_name_mapping(sorted(readable), session=session) if readable else {}
    return {
        dag_id
        for dag_id in readable
        if auth_manager.is_authorized_dag(
            method="GET",
            access_entity=DagAccessEntity.XCOM,
            details=DagDetails(id=dag_id, team_name=teams.get(dag_id)),
            user=user,
        )
    }


def sync_runs(user: Any, runs: int, dag_id: str | None) -> list[SyncTaskRuns]:
    """Every sync task the user may see, with its last ``runs`` runs."""
    from airflow.utils.session import create_session

    with create_session() as session:
        dag_ids = xcom_readable_dag_ids(session, user, {dag_id} if dag_id else None)
        return [SyncTaskRuns(task, recent_runs(session, task, runs)) for task in find_sync_tasks(session, dag_ids)]


@app.get("/", response_class=HTMLResponse, summary="The Customer.io syncs page")
def syncs_page(
    request: Request, user: UserDep, runs: RunsParam = DEFAULT_RUNS, dag_id: str | None = None
) -> HTMLResponse:
    """Sync tasks, their recent runs and counts, with links to each run's error CSV."""
    mount = request.scope.get("root_path", "") or URL_PREFIX
    airflow_root = mount[: -len(URL_PREFIX)] if mount.endswith(URL_PREFIX) else ""
    page = render_page(sync_runs(user, runs, dag_id), runs=runs, mount=mount, airflow_root=airflow_root)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@app.get("/api/syncs", summary="Sync tasks and their recent runs as JSON")
def syncs_json(user: UserDep, runs: RunsParam = DEFAULT_RUNS, dag_id: str | None = None) -> list[dict[str, Any]]:
    """Each sync task with its recent runs: task state, dates and the report pushed to XCom."""
    return [
        {
            "dag_id": item.task.dag_id,
            "task_id": item.task.task_id,
            "operator": item.task.operator,
            "runs": [
                {
                    "run_id": run.run_id,
                    "map_index": run.map_index,
                    "state": run.state,
                    "start_date": run.start_date.isoformat() if run.start_date else None,
                    "end_date": run.end_date.isoformat() if run.end_date else None,
                    "report": run.report,
                }
                for run in item.runs
            ],
        }
        for item in sync_runs(user, runs, dag_id)
    ]


@app.get("/error-report", summary="Download one sync run's error CSV")
def error_report(user: UserDep, dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> StreamingResponse:
    """The error CSV named by the run's report, read through ``ObjectStoragePath``.

    404 when the task is not a sync task of a DAG the user may read, or its run has no error report (a DAG
    the user may not read looks like one that does not exist).
    """
    from airflow.utils.session import create_session

    with create_session() as session:
        readable = xcom_readable_dag_ids(session, user, {dag_id})
        sync_task_ids = {task.task_id for task in find_sync_tasks(session, readable)}
        report = read_report(session, dag_id, task_id, run_id, map_index) if task_id in sync_task_ids else None
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no sync report for this task and run")
    if not report.get("error_report"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this sync run has no error report: no row failed")
    try:
        handle = open_error_report(str(report["error_report"]))
    except ErrorReportUnavailable as unavailable:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(unavailable)) from None
    filename = download_name(dag_id, task_id, run_id, map_index)
    return StreamingResponse(
        chunks(handle),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def download_name(dag_id: str, task_id: str, run_id: str, map_index: int) -> str:
    """A file name for the download: ``<dag_id>__<task_id>__<run_id>[__<map_index>]_errors.csv``, safe characters."""
    parts = [dag_id, task_id, run_id] + ([str(map_index)] if map_index >= 0 else [])
    name = "__".join(parts) + "_errors.csv"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
