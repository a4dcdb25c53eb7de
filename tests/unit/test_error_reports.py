"""Error reports on in-memory inputs: one path per task instance; cells of row data that cannot start a
spreadsheet formula; the page showing report text as text (HTML-escaped)."""

from __future__ import annotations

from airflow_provider_cio.plugins.catalog import SyncTask
from airflow_provider_cio.plugins.health import SyncSummary
from airflow_provider_cio.plugins.page import render_sync
from airflow_provider_cio.plugins.runs import SyncRun
from airflow_provider_cio.sync.account.report import spreadsheet_safe

MARKUP = '<img src=x onerror="alert(1)">'


def test_a_cell_that_would_start_a_formula_gets_a_leading_quote():
    cells = ["=1+1", "+1", "-2+3", "@SUM(1)", "\tx", "\rx", "-5", "ada@example.com", "5", "a=b", "'=1", "", None]

    assert [spreadsheet_safe(cell) for cell in cells] == [
        "'=1+1",
        "'+1",
        "'-2+3",
        "'@SUM(1)",
        "'\tx",
        "'\rx",
        "'-5",  # a negative id too, as documented
        "ada@example.com",
        "5",
        "a=b",
        "'=1",  # already starts with a quote: no spreadsheet runs it
        "",
        None,
    ]


def test_the_page_shows_a_reports_text_escaped():
    report = {
        "import_type": "people",
        "rows_read": 1,
        "rows_sent": 0,
        "rows_failed": 1,
        "last_sync_time": 0,
        "status": "failed",
        "error": f"the query failed near {MARKUP}",
        "errors_by_type": {MARKUP: 1},
        "error_report": "file:///reports/x.csv",
    }
    run = SyncRun("dag", "sync", f"manual__{MARKUP}", -1, "failed", None, None, report)
    summary = SyncSummary(SyncTask("dag", "sync", "MySQLReverseETLOperator"), [run])

    page = render_sync(summary, runs=10, mount="/cio-syncs", airflow_root="")

    assert "<img" not in page
    assert "the query failed near &lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert "1 &lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


def test_each_task_instance_has_its_own_error_report_path(monkeypatch):
    from airflow_provider_cio.storage import error_report_uri

    monkeypatch.setenv("AIRFLOW__CUSTOMERIO__STORAGE_BASE", "file:///base/")
    reports = "file:///base/cio_error_reports/dag/sync"

    assert error_report_uri("dag", "sync", "manual__2026-01-01T00:00:00+00:00") == (
        f"{reports}/manual__2026-01-01T00_00_00+00_00.csv"
    )
    assert [error_report_uri("dag", "sync", "run", index) for index in (-1, 0, 1)] == [
        f"{reports}/run.csv",
        f"{reports}/run/0.csv",
        f"{reports}/run/1.csv",
    ]
    assert error_report_uri("dag", "sync", "..", 0) == f"{reports}/__/0.csv"  # never the task's folder's parent
    assert error_report_uri("dag", "sync", "../../other/x") == f"{reports}/.._.._other_x.csv"
