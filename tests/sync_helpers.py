"""Helpers of the MySQLReverseETLOperator tests: one-task DAGs run as real DagRuns, and SyncJob runs.

Two ways to run a sync, both against the real MySQL server of the session and the emulator over HTTP:

- :func:`sync_dag` / :class:`SyncDag`: a DAG of its own with one ``MySQLReverseETLOperator`` (task
  ``sync``), run through ``dag.test()``; a :class:`SyncRun` holds the task state, the XCom report,
  the error CSV and the task log of one run.
- :func:`run_job`: a :class:`SyncJob` on the query's cursor (through ``MySQLQueryStream``: read-only
  transaction, server-side cursor, the same converters as the operator) into a real
  ``CustomerIOHook``: the engine's rules without an Airflow run, which is faster.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from airflow_provider_cio.hooks.customerio import CustomerIOHook
from airflow_provider_cio.sources.mysql.stream import MySQLQueryStream
from airflow_provider_cio.sync.account.outcomes import RowError
from airflow_provider_cio.sync.account.report import SyncReport
from airflow_provider_cio.sync.after_sync import SegmentTarget
from airflow_provider_cio.sync.convert.columns import ColumnPlan
from airflow_provider_cio.sync.job import SyncJob
from airflow_provider_cio.sync.settings import SyncSettings
from airflow_provider_cio.testing.dagruns import check_counts

TESTS = Path(__file__).parent
SQL_DIR = TESTS / "sql"
START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
CSV_HEADER = ["row_number", "identifier", "error_type", "message"]
XCOM_FIELDS = {"rows_read", "rows_sent", "rows_failed", "rows_suppressed", "last_sync_time", "error_report"}
XCOM_FIELDS |= {"duration_seconds"}

_dag_numbers = itertools.count(1)
_logical_days = itertools.count(0)


def next_logical_date() -> dt.datetime:
    """A logical date later than every one handed out before (each DagRun needs a later one)."""
    return START + dt.timedelta(days=next(_logical_days))


@dataclass
class SyncRun:
    """One DagRun of a sync DAG: what users see in the UI, the XCom tab and the error CSV."""

    state: str
    report: dict[str, Any] | None
    log: str
    run_id: str
    start_date: dt.datetime | None

    @property
    def csv_text(self) -> str | None:
        """The error CSV of the run as text, or None when the report names none."""
        uri = (self.report or {}).get("error_report")
        if not uri:
            return None
        from airflow.sdk import ObjectStoragePath

        with ObjectStoragePath(uri).open("r") as report:
            return report.read()

    @property
    def csv_rows(self) -> list[dict[str, str]]:
        """The error CSV as one dict per line (checks the header first)."""
        text = self.csv_text
        assert text is not None, f"the run wrote no error report: {self.report}"
        reader = csv.reader(io.StringIO(text))
        assert next(reader) == CSV_HEADER
        return [dict(zip(CSV_HEADER, line, strict=True)) for line in reader]

    def errors(self) -> list[tuple[int, str, str]]:
        """``(row_number, identifier, error_type)`` of each CSV line."""
        return [(int(r["row_number"]), r["identifier"], r["error_type"]) for r in self.csv_rows]


class SyncDag:
    """A DAG with one MySQLReverseETLOperator (task ``sync``), run as real DagRuns with ``dag.test()``.

    :param capfd: pytest's ``capfd``: the task log of each run is read from the captured output.
    """

    def __init__(self, dag_id: str, capfd: pytest.CaptureFixture[str], **operator_kwargs: Any) -> None:
        from airflow.sdk import DAG

        from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator

        self.capfd = capfd
        searchpath = operator_kwargs.pop("template_searchpath", None)
        operator_kwargs.setdefault("activity_settle_seconds", 0)
        with DAG(
            dag_id,
            schedule=None,
            start_date=START,
            catchup=False,
            max_active_runs=1,
            template_searchpath=searchpath,
        ) as self.dag:
            self.operator = MySQLReverseETLOperator(task_id="sync", **operator_kwargs)

    def run(self) -> SyncRun:
        """One DagRun; returns the task's state, report (XCom ``return_value``) and log."""
        from airflow_provider_cio.testing.dagruns import run_dag

        self.capfd.readouterr()
        outcome = run_dag(self.dag, next_logical_date())
        captured = self.capfd.readouterr()
        return SyncRun(
            state=outcome.task_states["sync"],
            report=outcome.xcom("sync"),
            log=captured.out + captured.err,
            run_id=outcome.run_id,
            start_date=outcome.start_date,
        )


@pytest.fixture(name="sync_dag")
def sync_dag_fixture(
    airflow_db: None, request: pytest.FixtureRequest, capfd: pytest.CaptureFixture[str]
) -> Iterator[Any]:
    """``sync_dag(sql=..., **operator_kwargs) -> SyncDag``: a DAG of its own, named after the test."""

    def make(**operator_kwargs: Any) -> SyncDag:
        slug = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name).strip("_")[:150]
        return SyncDag(f"{slug}_{next(_dag_numbers)}", capfd, **operator_kwargs)

    yield make


def run_once(sync_dag: Any, **operator_kwargs: Any) -> SyncRun:
    """Build a sync DAG and run it once."""
    return sync_dag(**operator_kwargs).run()


@dataclass
class JobRun:
    """The outcome of a SyncJob: its report, its row errors (in row order) and its column plan."""

    report: SyncReport
    errors: list[RowError]
    plan: ColumnPlan | None
    sent_sizes: list[int] = field(default_factory=list)

    def error_rows(self) -> list[tuple[int, str, str]]:
        """``(row_number, identifier, error_type)`` of each failed row."""
        return [(e.row_number, e.identifier, e.error_type) for e in self.errors]


class MeasuredHook(CustomerIOHook):
    """The real hook, noting the size of every batch request body it sends (as built by ``send_batch``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent_sizes: list[int] = []
        self.op_sizes: list[int] = []

    def send_batch(self, ops: Any) -> Any:
        if ops:
            self.sent_sizes.append(len(b'{"batch":[' + b",".join(ops) + b"]}"))
            self.op_sizes.extend(len(op) for op in ops)
        return super().send_batch(ops)


def run_job(
    sql: str,
    *,
    converters: bool = True,
    segment: SegmentTarget | None = None,
    hook: CustomerIOHook | None = None,
    conn_id: str = "customerio_default",
    progress: Any = None,
    **settings: Any,
) -> JobRun:
    """Run a SyncJob on ``sql`` (MySQL connection ``mysql_default``) into the workspace of ``conn_id``.

    :param converters: give the MySQL driver the sync's text converters, as the operator does; False
        reads the driver's usual Python objects (what any other DB-API driver hands over).
    :param progress: called with the sync's progress after every block of rows.
    :param settings: ``SyncSettings`` fields; ``import_type`` defaults to people, the activity log is
        read once (no settle wait) unless ``activity_settle_seconds`` says otherwise.

    The report's counts are checked (``check_counts``) before it is returned.
    """
    settings.setdefault("import_type", "people")
    settings.setdefault("activity_settle_seconds", 0)
    hook = hook or CustomerIOHook(conn_id)
    job = SyncJob(SyncSettings(**settings), hook, segment=segment, progress=progress, progress_interval=0)
    stream = MySQLQueryStream("mysql_default")
    finished = False
    try:
        cursor = stream.execute(sql, job.text_converters() if converters else None)
        report = job.run(cursor)
        check_counts(report)
        finished = report.error is None
        errors = list(job.errors) if job.engine is not None else []
        return JobRun(report, errors, job.plan, list(getattr(hook, "sent_sizes", [])))
    finally:
        stream.close(finished=finished)
        job.close()
        hook.close()


def seed(*ops: dict[str, Any]) -> None:
    """Put people in the workspace of ``customerio_default`` through the Track API (real HTTP), as an earlier
    sync or another system would have."""
    hook = CustomerIOHook()
    try:
        assert hook.send_batch([orjson.dumps(op) for op in ops]) == []
    finally:
        hook.close()


def person(identifiers: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    """An ``identify`` op for a person."""
    return {"type": "person", "identifiers": identifiers, "action": "identify", "attributes": attributes}


def person_attributes(workspace: Any) -> dict[str, dict[str, Any]]:
    """``id -> attributes`` of every person in the workspace (people without an id under their email)."""
    return {p["id"] or p["email"]: p["attributes"] for p in workspace.people()}
