"""The "Customer.io syncs" page in a real browser, on a real Airflow API server: sign in through Airflow's
login form, open the page from the Browse menu, read the runs, download an error CSV from the page and
from the task instance's "Error report" extra link. Then the plugin's authentication (an anonymous or
forged request gets nothing) and what its download refuses to serve.

A screenshot of the page is kept in ``.artifacts/ui/cio-syncs-page.png`` after the tests.
"""

from __future__ import annotations

from datetime import datetime, timezone
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from airflow_provider_cio.plugins.urls import error_report_path

PLUGIN_ENTRY_POINT = "airflow_provider_cio.plugins.syncs_plugin:CustomerIOSyncsPlugin"
COLUMNS = ["Run", "Status", "Started (UTC)", "Duration", "Rows read", "Sent", "Failed", "Suppressed"]
COLUMNS += ["last_sync_time", "Error report"]
NO_REPORT = "\N{EN DASH}"


def report_bytes(report: dict) -> bytes:
    """The content of a sync's ``file://`` error report."""
    return Path(report["error_report"].removeprefix("file://")).read_bytes()


def download_url(server, dag_id: str, task_id: str, run_id: str) -> str:
    """The plugin's download address of a run's error CSV."""
    return server.url + error_report_path(dag_id, task_id, run_id)


def runs_table(frame, dag_id: str, task_id: str) -> list[dict[str, str]]:
    """The rows of one sync task's table on the page, as {column: text}."""
    table = frame.locator(f"h2:has-text('{dag_id} / {task_id} ') + table")
    assert table.locator("thead th").all_inner_texts() == COLUMNS
    rows = table.locator("tbody tr").all()
    return [dict(zip(COLUMNS, row.locator("td").all_inner_texts(), strict=True)) for row in rows]


def test_the_plugin_is_registered_through_the_airflow_plugins_entry_point():
    registered = {entry.value for entry in entry_points(group="airflow.plugins")}

    assert PLUGIN_ENTRY_POINT in registered, "pip install -e . registers the airflow.plugins entry point"


def test_the_page_shows_every_sync_task_with_its_recent_runs(signed_in_page, sync_history, artifacts):
    page = signed_in_page
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Customer.io syncs").click()
    page.wait_for_url("**/plugin/cio-syncs**")
    frame = page.frame_locator("iframe[title='Customer.io syncs']")
    frame.get_by_role("heading", name="cio_ui_people / sync").wait_for()
    page.screenshot(path=str(artifacts / "cio-syncs-page.png"), full_page=True)

    headings = [text for text in frame.get_by_role("heading", level=2).all_inner_texts() if text.startswith("cio_ui_")]
    assert headings == [
        "cio_ui_objects_dry_run / sync_companies MySQLReverseETLOperator",
        "cio_ui_people / sync MySQLReverseETLOperator",
        "cio_ui_tampered / sync MySQLReverseETLOperator",
    ]  # the task that only pushes a report-shaped XCom is no sync
    *_, last = sync_history.people_reports
    people = runs_table(frame, "cio_ui_people", "sync")
    assert [row["Run"] for row in people] == [run.run_id for run in reversed(sync_history.people_runs)]
    assert [row["Status"] for row in people] == ["success", "success", "failed"]
    assert [(row["Rows read"], row["Sent"], row["Failed"], row["Suppressed"]) for row in people] == [
        ("1", "1", "0", "0"),
        ("6", "6", "0", "0"),
        ("6", "4", "2", "0"),
    ]
    last_sync = datetime.fromtimestamp(last["last_sync_time"], tz=timezone.utc)
    assert [row["last_sync_time"] for row in people] == [
        last_sync.strftime("%Y-%m-%d %H:%M:%S"),
        "0 (first sync)",
        "0 (first sync)",
    ]
    assert [row["Error report"] for row in people] == [NO_REPORT, NO_REPORT, "errors.csv"]
    assert all(row["Duration"].endswith(" s") for row in people)

    (dry_run,) = runs_table(frame, "cio_ui_objects_dry_run", "sync_companies")
    assert dry_run["Status"] == "success dry run"
    assert (dry_run["Rows read"], dry_run["Sent"]) == ("3", "would send 3")


def test_the_error_csv_downloads_from_the_page(signed_in_page, sync_history):
    frame = signed_in_page.frame_locator("iframe[title='Customer.io syncs']")
    link = frame.locator("h2:has-text('cio_ui_people / sync ') + table").get_by_role("link", name="errors.csv")

    with signed_in_page.expect_download() as download:
        link.click()

    name = download.value.suggested_filename
    assert name.startswith("cio_ui_people__sync__manual__") and name.endswith("_errors.csv")
    assert all(c.isalnum() or c in "-_." for c in name)
    content = Path(download.value.path()).read_bytes()
    assert content == report_bytes(sync_history.people_reports[0])
    assert content.decode().splitlines()[0] == "row_number,identifier,error_type,message"
    assert [line.split(",")[2] for line in content.decode().splitlines()[1:]] == ["invalid_email", "missing_identifier"]


def test_the_error_report_extra_link_of_a_failed_sync_downloads_its_csv(signed_in_page, api_server, sync_history):
    page = signed_in_page
    failed_run = sync_history.people_runs[0]
    page.goto(f"{api_server.url}/dags/cio_ui_people/runs/{failed_run.run_id}/tasks/sync")
    page.get_by_role("link", name="Details", exact=True).click()
    link = page.get_by_role("link", name="Error report")

    assert link.get_attribute("href") == error_report_path("cio_ui_people", "sync", failed_run.run_id)
    with page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == report_bytes(sync_history.people_reports[0])


def test_only_a_sync_with_failed_rows_has_an_error_report_link(api_server, sync_history):
    headers = {"Authorization": f"Bearer {api_server.token()}"}
    links = [
        requests.get(
            f"{api_server.url}/api/v2/dags/cio_ui_people/dagRuns/{run.run_id}/taskInstances/sync/links",
            headers=headers,
            timeout=30,
        ).json()["extra_links"]["Error report"]
        for run in sync_history.people_runs
    ]

    assert [run.state for run in sync_history.people_runs] == ["failed", "success", "success"]
    assert links == [error_report_path("cio_ui_people", "sync", sync_history.people_runs[0].run_id), None, None]


@pytest.mark.parametrize("path", ["/cio-syncs/", "/cio-syncs/api/syncs", "/cio-syncs/error-report"])
def test_anonymous_requests_get_401_and_no_data(api_server, sync_history, path):
    failed_run = sync_history.people_runs[0]
    query = {"dag_id": "cio_ui_people", "task_id": "sync", "run_id": failed_run.run_id} if "report" in path else {}

    response = requests.get(f"{api_server.url}{path}?{urlencode(query)}", timeout=30, allow_redirects=False)

    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}


@pytest.mark.parametrize("how", ["bearer", "cookie"])
def test_a_forged_token_gets_403_and_no_data(api_server, sync_history, how):
    forged = api_server.token()[:-8] + "AAAAAAAA"
    kwargs = {"headers": {"Authorization": f"Bearer {forged}"}} if how == "bearer" else {"cookies": {"_token": forged}}

    response = requests.get(f"{api_server.url}/cio-syncs/api/syncs", timeout=30, **kwargs)

    assert response.status_code == 403
    assert "cio_ui_people" not in response.text


def test_a_browser_that_has_not_signed_in_sees_no_syncs(browser, api_server, sync_history):
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(f"{api_server.url}/cio-syncs/")
        assert response.status == 401
        assert "cio_ui_people" not in page.content()
    finally:
        context.close()


def test_the_json_holds_each_run_with_its_report(api_server, sync_history):
    headers = {"Authorization": f"Bearer {api_server.token()}"}

    url = f"{api_server.url}/cio-syncs/api/syncs"
    syncs = requests.get(url, headers=headers, timeout=30).json()
    latest = requests.get(url, params={"runs": 1, "dag_id": "cio_ui_people"}, headers=headers, timeout=30).json()

    by_task = {(sync["dag_id"], sync["task_id"]): sync for sync in syncs if sync["dag_id"].startswith("cio_ui_")}
    assert set(by_task) == {
        ("cio_ui_objects_dry_run", "sync_companies"),
        ("cio_ui_people", "sync"),
        ("cio_ui_tampered", "sync"),
    }
    people = by_task[("cio_ui_people", "sync")]
    assert [run["report"] for run in people["runs"]] == list(reversed(sync_history.people_reports))
    assert [run["state"] for run in people["runs"]] == ["success", "success", "failed"]
    assert by_task[("cio_ui_objects_dry_run", "sync_companies")]["runs"][0]["report"] == sync_history.dry_run_report
    assert [run["run_id"] for sync in latest for run in sync["runs"]] == [sync_history.people_runs[-1].run_id]


def test_the_download_serves_only_error_reports_of_sync_runs(api_server, sync_history):
    headers = {"Authorization": f"Bearer {api_server.token()}"}
    refused = {
        "a task that is not a sync": ("cio_ui_not_a_sync", "sync", sync_history.not_a_sync_run.run_id),
        "a report pointing at another file": ("cio_ui_tampered", "sync", sync_history.tampered_run.run_id),
        "a run without failed rows": ("cio_ui_people", "sync", sync_history.people_runs[1].run_id),
        "a DAG that does not exist": ("no_such_dag", "sync", sync_history.people_runs[0].run_id),
    }

    answers = {
        what: requests.get(download_url(api_server, *ids), headers=headers, timeout=30) for what, ids in refused.items()
    }

    assert {what: response.status_code for what, response in answers.items()} == dict.fromkeys(refused, 404)
    assert all(sync_history.secret_text.strip() not in response.text for response in answers.values())
    assert answers["a report pointing at another file"].json() == {
        "detail": "the file named by the report is not an error report of a sync"
    }
    assert answers["a run without failed rows"].json() == {"detail": "this sync run has no error report: no row failed"}
    failed_run = sync_history.people_runs[0]
    url = download_url(api_server, "cio_ui_people", "sync", failed_run.run_id)
    served = requests.get(url, headers=headers, timeout=30)
    assert served.status_code == 200
    assert served.headers["content-type"] == "text/csv; charset=utf-8"
    assert served.headers["content-disposition"].startswith('attachment; filename="cio_ui_people__sync__')
    assert served.content == report_bytes(sync_history.people_reports[0])
