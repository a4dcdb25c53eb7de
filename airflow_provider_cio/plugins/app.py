"""The plugin's FastAPI app, mounted on the Airflow API server at ``/cio-syncs``.

Every route needs a signed-in Airflow user, checked the way the API server checks its own routes (a JWT
in the ``Authorization: Bearer`` header, or the UI's session cookie), and shows only DAGs whose XComs
the user may read. An anonymous request gets 401 and no data. FastAPI's own ``/docs``, ``/redoc`` and
``/openapi.json`` routes, which would answer without sign-in, are turned off.

- ``GET /cio-syncs/?dag=&status=&connection=&source=``: the overview, one row per sync task (HTML).
- ``GET /cio-syncs/sync?dag_id=&task_id=&runs=``: one sync's settings, charts and runs (HTML).
- ``GET /cio-syncs/api/syncs?runs=&dag_id=``: every sync with its recent runs (JSON).
- ``GET /cio-syncs/error-report?dag_id=&task_id=&run_id=&map_index=``: one run's error CSV.

Airflow's server modules are imported inside the routes: the plugin is also loaded by every task
process, which must not pay for them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from airflow_provider_cio.plugins.downloads import ErrorReportUnavailable, chunks, open_error_report
from airflow_provider_cio.plugins.page import render_overview, render_sync
from airflow_provider_cio.plugins.runs import read_report, rendered_error_report_path, rendered_query
from airflow_provider_cio.plugins.views import (
    STATUS_FILTERS,
    Filters,
    overview,
    summaries,
    sync_detail,
    visible_sync_tasks,
)
from airflow_provider_cio.storage import error_report_uri
from airflow_provider_cio.urls import URL_PREFIX

DEFAULT_RUNS = 10
DEFAULT_PAGE_RUNS = 50
MAX_RUNS = 500
DEFAULT_ROWS = 200
MAX_ROWS = 10_000

app = FastAPI(
    title="Customer.io syncs",
    description="Sync runs of airflow-provider-cio and their error reports",
    docs_url=None,  # FastAPI's docs, redoc and OpenAPI routes would answer without sign-in
    redoc_url=None,
    openapi_url=None,
)
bearer = HTTPBearer(auto_error=False)


async def signed_in_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Any:
    """The Airflow user of the request; 401 when there is none, 403 for an invalid token."""
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, _oauth_token=None, bearer_credentials=credentials)


UserDep = Annotated[Any, Depends(signed_in_user)]
RunsParam = Annotated[int, Query(ge=1, le=MAX_RUNS, description="runs shown per sync task")]
NO_STORE = {"Cache-Control": "no-store"}


def mounts(request: Request) -> tuple[str, str]:
    """Where the plugin is served, and the Airflow UI's root path (for links)."""
    mount = request.scope.get("root_path", "") or URL_PREFIX
    return mount, mount[: -len(URL_PREFIX)] if mount.endswith(URL_PREFIX) else ""


@app.get("/", response_class=HTMLResponse, summary="Every sync at a glance")
def overview_page(
    request: Request,
    user: UserDep,
    dag: Annotated[str, Query(max_length=250, description="part of a DAG id")] = "",
    status_filter: Annotated[str, Query(alias="status", description="a status: " + ", ".join(STATUS_FILTERS))] = "",
    connection: Annotated[str, Query(max_length=250, description="a workspace connection id")] = "",
    source: Annotated[str, Query(max_length=250, description="a source (MySQL or PostgreSQL) connection id")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_ROWS, description="the most rows shown")] = DEFAULT_ROWS,
) -> HTMLResponse:
    """One row per sync task, those that need attention first, filtered by DAG, status, workspace connection
    and source connection."""
    from airflow.utils.session import create_session

    if status_filter not in STATUS_FILTERS:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"status must be one of {sorted(STATUS_FILTERS)}")
    filters = Filters(dag.strip(), status_filter, connection, source)
    with create_session() as session:
        view = overview(session, user, filters, limit)
    mount, airflow_root = mounts(request)
    page = render_overview(view, filters, limit=limit, mount=mount, airflow_root=airflow_root)
    return HTMLResponse(page, headers=NO_STORE)


@app.get("/sync", response_class=HTMLResponse, summary="One sync: settings, charts and runs")
def sync_page(
    request: Request, user: UserDep, dag_id: str, task_id: str, runs: RunsParam = DEFAULT_PAGE_RUNS
) -> HTMLResponse:
    """A sync task's settings, the query its last run rendered, charts of its last runs, and its run list
    with error reports.

    404 when the task is not a sync task of a DAG the user may read.
    """
    from airflow.utils.session import create_session

    with create_session() as session:
        summary = sync_detail(session, user, dag_id, task_id, runs)
        query = rendered_query(session, summary.runs) if summary is not None else None
    if summary is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no sync task with this DAG and task id")
    mount, airflow_root = mounts(request)
    page = render_sync(summary, query, runs=runs, mount=mount, airflow_root=airflow_root)
    return HTMLResponse(page, headers=NO_STORE)


@app.get("/api/syncs", summary="Sync tasks and their recent runs as JSON")
def syncs_json(user: UserDep, runs: RunsParam = DEFAULT_RUNS, dag_id: str | None = None) -> list[dict[str, Any]]:
    """Each sync task with its status, problems and recent runs: task state, dates and the report."""
    from airflow.utils.session import create_session

    with create_session() as session:
        tasks = visible_sync_tasks(session, user, {dag_id} if dag_id else None)
        found = summaries(session, tasks, runs, runs)
    return [
        {
            "dag_id": item.task.dag_id,
            "task_id": item.task.task_id,
            "operator": item.task.operator,
            "pool": item.task.pool,
            "connection": item.connection,
            "source_connection": item.source_connection,
            "import_type": item.import_type,
            "status": item.status,
            "problems": [{"kind": p.kind, "title": p.title, "command": p.command} for p in item.problems],
            "paused": item.paused,
            "next_run": item.next_run.isoformat() if item.next_run else None,
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
        for item in found
    ]


@app.get("/error-report", summary="Download one sync run's error CSV")
def error_report(user: UserDep, dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> StreamingResponse:
    """The error CSV of one sync task instance, read through ``ObjectStoragePath``.

    Served only from where that task instance writes its report (its location under
    ``[customerio] storage_base``, or its own rendered ``error_report_path``), whatever its report's
    XCom says (see ``downloads``). 404 when the task is not a sync task of a DAG the user may read (a
    DAG the user may not read looks like one that does not exist), when the run has no error report,
    and when the report's XCom names any other file.
    """
    from airflow.utils.session import create_session

    with create_session() as session:
        sync_task_ids = {task.task_id for task in visible_sync_tasks(session, user, {dag_id})}
        report = read_report(session, dag_id, task_id, run_id, map_index) if task_id in sync_task_ids else None
        rendered = rendered_error_report_path(session, dag_id, task_id, run_id, map_index) if report else None
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no sync report for this task and run")
    if not report.get("error_report"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this sync run has no error report: no row failed")
    expected = {error_report_uri(dag_id, task_id, run_id, map_index), *filter(None, [rendered])}
    try:
        handle = open_error_report(str(report["error_report"]), expected)
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
