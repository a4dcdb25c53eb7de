"""The "Customer.io syncs" pages in a real browser, on a real Airflow API server.

Sign in through Airflow's login form, open the overview from the Browse menu, filter it, drill down to a
sync's page, read its charts and runs, download an error CSV from the page and from the task instance's
"Error report" extra link. Then the plugin's authentication (an anonymous or forged request gets nothing),
what a user who may read one DAG only sees, and what the download refuses to serve.

Every test opens its own browser page (no test depends on another's leftovers). Screenshots are kept in
``.artifacts/ui/`` after the tests.
"""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from airflow_provider_cio.urls import error_report_path

PLUGIN_ENTRY_POINT = "airflow_provider_cio.plugins.syncs_plugin:CustomerIOSyncsPlugin"
COLUMNS = ["Run", "Status", "Started (UTC)", "Duration", "Rows read", "Sent", "Failed", "Suppressed"]
COLUMNS += ["Unchanged", "Removed", "last_sync_time", "Error report"]
OVERVIEW = ["Sync", "Source", "Last run", "Sent", "Failed", "Success (last 30)", "Trend", "Next run", "Attention"]
NO_REPORT = "\N{EN DASH}"
IFRAME = "iframe[title='Customer.io syncs']"


def report_bytes(report: dict) -> bytes:
    """The content of a sync's ``file://`` error report."""
    return Path(report["error_report"].removeprefix("file://")).read_bytes()


def download_url(server, dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    """The plugin's download address of a run's error CSV."""
    return server.url + error_report_path(dag_id, task_id, run_id, map_index)


def sync_url(server, dag_id: str, task_id: str) -> str:
    """A sync's page on the plugin."""
    return f"{server.url}/cio-syncs/sync?{urlencode({'dag_id': dag_id, 'task_id': task_id})}"


def overview_rows(frame) -> list[dict[str, str]]:
    """The overview's rows (only the tests' DAGs), as {column: text} plus the row's status."""
    table = frame.locator("table#syncs")
    assert table.locator("thead th").all_inner_texts() == OVERVIEW
    rows = []
    for row in table.locator("tbody tr").all():
        if not (row.get_attribute("data-dag-id") or "").startswith("cio_ui_"):
            continue
        cells = dict(zip(OVERVIEW, row.locator("td").all_inner_texts(), strict=True))
        cells["status"] = row.get_attribute("data-status") or ""
        cells["id"] = f"{row.get_attribute('data-dag-id')}/{row.get_attribute('data-task-id')}"
        rows.append(cells)
    return rows


def runs_table(frame) -> list[dict[str, str]]:
    """The rows of a sync page's run list, as {column: text}."""
    table = frame.locator("table#runs")
    assert table.locator("thead th").all_inner_texts() == COLUMNS
    rows = table.locator("tbody tr").all()
    return [dict(zip(COLUMNS, row.locator("td").all_inner_texts(), strict=True)) for row in rows]


def bars(frame, chart: str, attribute: str) -> list[str]:
    """One number of every bar of a chart, oldest run first."""
    return [bar.get_attribute(f"data-{attribute}") or "" for bar in frame.locator(f"svg.chart.{chart} g.bar").all()]


def test_the_plugin_is_registered_through_the_airflow_plugins_entry_point():
    registered = {entry.value for entry in entry_points(group="airflow.plugins")}

    assert PLUGIN_ENTRY_POINT in registered, "pip install -e . registers the airflow.plugins entry point"


def browse_to_overview(page, server):
    """Open Airflow, then "Browse > Customer.io syncs"; the page's frame once the overview is there."""
    page.goto(f"{server.url}/")
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Customer.io syncs").click()
    page.wait_for_url("**/plugin/cio-syncs**")
    frame = page.frame_locator(IFRAME)
    frame.locator("table#syncs, [data-testid=empty]").first.wait_for()
    return frame


def apply_filters(frame, dag: str = "", status: str = "", connection: str = "", source: str = "") -> list[str]:
    """Filter the overview through its form; the ids of the tests' rows on the page the click loaded."""
    frame.locator("input[name=dag]").fill(dag)
    frame.locator("select[name=status]").select_option(status)
    frame.locator("select[name=connection]").select_option(connection)
    frame.locator("select[name=source]").select_option(source)
    frame.locator("body").evaluate("body => { body.dataset.stale = 'yes'; }")  # the page before the click
    frame.get_by_role("button", name="Filter").click()
    frame.locator("body:not([data-stale])").wait_for(state="attached")  # the page the filter loaded
    frame.locator("form.filters").wait_for()
    frame.locator("table#syncs, [data-testid=empty]").first.wait_for()
    frame.locator(f"select[name=status] option[value='{status}'][selected]").wait_for(state="attached")
    return [row["id"] for row in overview_rows(frame)] if frame.locator("table#syncs").count() else []


TESTS_DAGS = "cio_ui_"
"""Every DAG of the session shares the metadata DB, and the overview shows its first 200 rows: the page
tests look at their own DAGs through the DAG filter, so other tests' syncs can neither push theirs off
the page nor match their filters."""


def test_the_overview_shows_every_sync_those_that_need_attention_first(
    signed_in_page, api_server, sync_history, artifacts
):
    frame = browse_to_overview(signed_in_page, api_server)
    apply_filters(frame, dag=TESTS_DAGS)
    signed_in_page.screenshot(path=str(artifacts / "cio-syncs-overview.png"), full_page=True)

    rows = overview_rows(frame)
    assert [(row["id"], row["status"]) for row in rows] == [
        ("cio_ui_no_pool/sync_companies", "pool_missing"),
        ("cio_ui_mapped/sync", "failed"),
        ("cio_ui_tampered/sync", "failed"),
        ("cio_ui_events/sync_purchases", "ok"),
        ("cio_ui_objects_dry_run/sync_companies", "ok"),
        ("cio_ui_people/sync", "ok"),
        ("cio_ui_never_run/sync", "no_runs"),
    ]  # the task that only pushes a report-shaped XCom is no sync
    by_id = {row["id"]: row for row in rows}
    no_pool = by_id["cio_ui_no_pool/sync_companies"]
    assert "Pool customerio_workspace_eu does not exist" in no_pool["Attention"]
    assert "cio-retl create-pool --conn-id workspace_eu" in no_pool["Attention"]
    assert no_pool["Sync"].splitlines() == ["cio_ui_no_pool / sync_companies", "objects \N{MIDDLE DOT} workspace_eu"]
    red = frame.locator("tr[data-dag-id=cio_ui_no_pool] td").first.evaluate(
        "td => getComputedStyle(td).backgroundColor"
    )
    assert red == "rgb(255, 245, 245)"
    people = by_id["cio_ui_people/sync"]
    assert (people["Last run"].split()[0], people["Sent"], people["Failed"]) == ("success", "1", "0")
    assert people["Success (last 30)"] == "67%"  # 2 of 3 runs
    assert people["Attention"] == ""
    assert frame.locator("tr[data-dag-id=cio_ui_people] svg.spark.rows").get_attribute("data-values") == "4 6 1"
    tampered = by_id["cio_ui_tampered/sync"]
    assert (tampered["Last run"].split()[0], tampered["Sent"], tampered["Failed"]) == ("failed", "5", "1")
    why = "1 row failed (1 invalid_email); see the error report."
    assert tampered["Attention"].splitlines() == ["Last run failed", why]
    assert by_id["cio_ui_never_run/sync"]["Last run"] == "no runs"
    events = by_id["cio_ui_events/sync_purchases"]
    assert events["Sync"].splitlines() == [
        "cio_ui_events / sync_purchases",
        "events: purchase \N{MIDDLE DOT} customerio_default",
    ]
    assert (events["Source"], events["Last run"].split()[0], events["Sent"], events["Failed"]) == (
        "mysql_orders",
        "success",
        "3",
        "0",
    )
    assert people["Source"] == "mysql_default"


def test_the_filters_narrow_the_overview(signed_in_page, api_server, sync_history, artifacts):
    frame = browse_to_overview(signed_in_page, api_server)

    attention = apply_filters(frame, dag=TESTS_DAGS, status="attention")
    assert attention == ["cio_ui_no_pool/sync_companies", "cio_ui_mapped/sync", "cio_ui_tampered/sync"]
    assert apply_filters(frame, dag=TESTS_DAGS, status="pool_missing") == ["cio_ui_no_pool/sync_companies"]
    assert apply_filters(frame, dag=TESTS_DAGS, connection="workspace_eu") == ["cio_ui_no_pool/sync_companies"]
    assert apply_filters(frame, dag=TESTS_DAGS, source="mysql_orders") == ["cio_ui_events/sync_purchases"]
    assert "cio_ui_events/sync_purchases" not in apply_filters(frame, dag=TESTS_DAGS, source="mysql_default")
    assert apply_filters(frame, dag="CIO_UI_PEOPLE") == ["cio_ui_people/sync"]
    signed_in_page.screenshot(path=str(artifacts / "cio-syncs-overview-filtered.png"), full_page=True)
    assert apply_filters(frame, dag="cio_ui_people", status="failed") == []
    assert frame.locator("[data-testid=empty]").inner_text() == "No sync matches these filters."


def test_the_drill_down_shows_charts_and_runs_of_a_sync(signed_in_page, api_server, sync_history, artifacts):
    frame = browse_to_overview(signed_in_page, api_server)
    apply_filters(frame, dag=TESTS_DAGS)
    frame.get_by_role("link", name="cio_ui_people / sync").click()
    frame.get_by_role("heading", name="cio_ui_people / sync").wait_for()
    signed_in_page.screenshot(path=str(artifacts / "cio-syncs-sync-page.png"), full_page=True)

    reports = sync_history.people_reports  # oldest first, as the charts
    assert bars(frame, "rows", "run-id") == [run.run_id for run in sync_history.people_runs]
    assert bars(frame, "rows", "sent") == [str(r["rows_sent"]) for r in reports] == ["4", "6", "1"]
    assert bars(frame, "rows", "failed") == ["2", "0", "0"]
    assert bars(frame, "rows", "removed") == ["0", "0", "0"]  # no mirror-mode keys: nothing removed
    assert bars(frame, "duration", "seconds") == [f"{r['duration_seconds']:.3f}" for r in reports]
    heights = frame.locator("svg.chart.rows rect.sent").evaluate_all("rs => rs.map(r => +r.getAttribute('height'))")
    assert heights[1] > heights[0] > heights[2] > 0  # 6 > 4 > 1 rows, drawn to scale
    settings = dict(
        zip(
            frame.locator("dl.settings dt").all_inner_texts(),
            frame.locator("dl.settings dd").all_inner_texts(),
            strict=True,
        )
    )
    assert {k: settings[k] for k in ("Import type", "Mode", "Pool", "Segment", "Dry run")} == {
        "Import type": "people",
        "Mode": "upsert",
        "Pool": "default_pool",
        "Segment": "none",
        "Dry run": "no",
    }
    assert settings["Source connection"] == "mysql_default" and "Event name" not in settings

    *_, last = reports
    people = runs_table(frame)
    assert [row["Run"] for row in people] == [run.run_id for run in reversed(sync_history.people_runs)]
    assert [row["Status"].split("\n")[0] for row in people] == ["success", "success", "failed"]
    assert [(row["Rows read"], row["Sent"], row["Failed"], row["Suppressed"], row["Removed"]) for row in people] == [
        ("1", "1", "0", "0", "0"),
        ("6", "6", "0", "0", "0"),
        ("6", "4", "2", "0", "0"),
    ]
    last_sync = datetime.fromtimestamp(last["last_sync_time"], tz=timezone.utc)
    assert [row["last_sync_time"] for row in people] == [
        last_sync.strftime("%Y-%m-%d %H:%M:%S"),
        "0 (first sync)",
        "0 (first sync)",
    ]
    assert [row["Error report"].split("\n")[0] for row in people] == [NO_REPORT, NO_REPORT, "errors.csv"]
    assert people[2]["Error report"].split("\n")[1] == "1 invalid_email, 1 missing_identifier"
    assert all(row["Duration"].endswith(" s") for row in people)


def rendered(sql: str, report: dict) -> str:
    """A query as Airflow renders it for a run: ``{{ last_sync_time }}`` becomes that run's number."""
    return sql.replace("{{ last_sync_time }}", str(report["last_sync_time"]))


def test_an_events_sync_page_shows_its_event_name_source_and_counts(signed_in_page, api_server, sync_history):
    signed_in_page.goto(sync_url(api_server, sync_history.events_dag, "sync_purchases"))
    settings = dict(
        zip(
            signed_in_page.locator("dl.settings dt").all_inner_texts(),
            signed_in_page.locator("dl.settings dd").all_inner_texts(),
            strict=True,
        )
    )
    assert {k: settings[k] for k in ("Import type", "Event name", "Source connection", "Workspace connection")} == {
        "Import type": "events",
        "Event name": "purchase",
        "Source connection": "mysql_orders",
        "Workspace connection": "customerio_default",
    }
    [run] = runs_table(signed_in_page)
    assert (run["Rows read"], run["Sent"], run["Failed"]) == ("3", "3", "0")


def test_the_sync_page_shows_the_query_the_last_run_rendered(signed_in_page, api_server, sync_history, artifacts):
    page = signed_in_page
    page.goto(sync_url(api_server, "cio_ui_people", "sync"))
    block = page.locator("details.query")
    last_run, last_report = sync_history.people_runs[-1], sync_history.people_reports[-1]
    expected = rendered(sync_history.people_sql, last_report)
    assert last_report["last_sync_time"] > 0 and "{{" not in expected

    assert block.get_attribute("open") is None  # the last run succeeded: folded, one click away
    block.locator("summary").click()
    page.screenshot(path=str(artifacts / "cio-syncs-query.png"), full_page=True)
    assert block.locator("pre.sql").inner_text() == expected
    assert page.locator(".query-row").get_attribute("data-run-id") == last_run.run_id
    assert page.locator(".query-report").inner_text() == "Error report: none, no row failed"

    headers = {"Authorization": f"Bearer {api_server.token()}"}
    html = requests.get(sync_url(api_server, "cio_ui_people", "sync"), headers=headers, timeout=30).text
    assert f"<code>{escape(expected, quote=False)}</code>" in html  # ">=" arrives as "&gt;=": escaped
    assert expected not in html


def test_a_failed_run_shows_its_query_open_with_its_error_report_beside_it(signed_in_page, api_server, sync_history):
    page = signed_in_page
    page.goto(sync_url(api_server, "cio_ui_tampered", "sync"))
    block = page.locator("details.query")

    assert block.get_attribute("open") == ""  # the last run failed: the query is shown at once
    assert block.locator("pre.sql").inner_text() == rendered(
        sync_history.people_sql, sync_history.tampered_run.xcom("sync")
    )
    link = page.locator(".query-report").get_by_role("link", name="errors.csv")
    assert link.get_attribute("href") == error_report_path("cio_ui_tampered", "sync", sync_history.tampered_run.run_id)
    assert page.locator(".query-report .sub").inner_text() == "1 invalid_email"


def test_a_dry_run_shows_what_it_would_send(signed_in_page, api_server, sync_history):
    signed_in_page.goto(sync_url(api_server, "cio_ui_objects_dry_run", "sync_companies"))

    (dry_run,) = runs_table(signed_in_page)
    assert dry_run["Status"] == "success dry run"
    assert (dry_run["Rows read"], dry_run["Sent"]) == ("3", "would send 3")


def test_the_error_csv_downloads_from_the_page(signed_in_page, api_server, sync_history):
    signed_in_page.goto(sync_url(api_server, "cio_ui_people", "sync"))
    link = signed_in_page.locator("table#runs").get_by_role("link", name="errors.csv")

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


@pytest.mark.parametrize("path", ["/cio-syncs/", "/cio-syncs/sync", "/cio-syncs/api/syncs", "/cio-syncs/error-report"])
def test_anonymous_requests_get_401_and_no_data(api_server, sync_history, path):
    failed_run = sync_history.people_runs[0]
    query = {"dag_id": "cio_ui_people", "task_id": "sync", "run_id": failed_run.run_id}

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
        ("cio_ui_no_pool", "sync_companies"),
        ("cio_ui_never_run", "sync"),
        ("cio_ui_mapped", "sync"),
        ("cio_ui_events", "sync_purchases"),
    }
    events = by_task[("cio_ui_events", "sync_purchases")]
    assert (events["import_type"], events["source_connection"], events["connection"]) == (
        "events",
        "mysql_orders",
        "customerio_default",
    )
    assert events["runs"][0]["report"]["settings"]["event_name"] == "purchase"
    assert by_task[("cio_ui_no_pool", "sync_companies")]["problems"][0]["command"] == (
        "cio-retl create-pool --conn-id workspace_eu"
    )
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
        "detail": "the report's error_report is not where this task instance writes its report"
    }
    assert answers["a run without failed rows"].json() == {"detail": "this sync run has no error report: no row failed"}
    failed_run = sync_history.people_runs[0]
    url = download_url(api_server, "cio_ui_people", "sync", failed_run.run_id)
    served = requests.get(url, headers=headers, timeout=30)
    assert served.status_code == 200
    assert served.headers["content-type"] == "text/csv; charset=utf-8"
    assert served.headers["content-disposition"].startswith('attachment; filename="cio_ui_people__sync__')
    assert served.content == report_bytes(sync_history.people_reports[0])


def test_a_user_who_may_read_one_dag_sees_only_its_syncs(reader_page, api_server, sync_history, artifacts):
    reader_page.goto(f"{api_server.url}/cio-syncs/")
    reader_page.locator("table#syncs").wait_for()
    reader_page.screenshot(path=str(artifacts / "cio-syncs-one-dag-reader.png"), full_page=True)

    assert [row["id"] for row in overview_rows(reader_page)] == [f"{api_server.reader_dag}/sync_companies"]
    assert reader_page.locator("[data-testid=summary]").inner_text().split("\n")[0] == "1 syncs"
    assert "cio_ui_people" not in reader_page.content()  # not in the rows, the counts or the DAG filter's list
    reader_page.goto(f"{api_server.url}/cio-syncs/?dag=people")
    assert reader_page.locator("[data-testid=empty]").inner_text() == "No sync matches these filters."


def test_a_user_who_may_read_one_dag_cannot_open_or_download_another(api_server, sync_history):
    reader = {"Authorization": f"Bearer {api_server.token(api_server.reader)}"}
    admin = {"Authorization": f"Bearer {api_server.token()}"}
    failed_run = sync_history.people_runs[0]
    download = download_url(api_server, "cio_ui_people", "sync", failed_run.run_id)
    page = sync_url(api_server, "cio_ui_people", "sync")

    syncs = requests.get(f"{api_server.url}/cio-syncs/api/syncs", headers=reader, timeout=30).json()
    assert [(sync["dag_id"], sync["task_id"]) for sync in syncs] == [(api_server.reader_dag, "sync_companies")]
    one = requests.get(
        f"{api_server.url}/cio-syncs/api/syncs", params={"dag_id": "cio_ui_people"}, headers=reader, timeout=30
    )
    assert one.json() == []
    assert requests.get(page, headers=admin, timeout=30).status_code == 200
    assert requests.get(page, headers=reader, timeout=30).status_code == 404
    assert requests.get(download, headers=admin, timeout=30).status_code == 200
    refused = requests.get(download, headers=reader, timeout=30)
    assert refused.status_code == 404
    assert refused.json() == {"detail": "no sync report for this task and run"}


def test_an_unknown_status_filter_says_which_exist(api_server, sync_history):
    headers = {"Authorization": f"Bearer {api_server.token()}"}

    response = requests.get(f"{api_server.url}/cio-syncs/", params={"status": "broken"}, headers=headers, timeout=30)

    assert response.status_code == 400
    assert "attention" in response.json()["detail"]


def test_each_instance_of_a_mapped_sync_links_to_its_own_error_report(signed_in_page, api_server, sync_history):
    reports = sync_history.mapped_reports
    signed_in_page.goto(sync_url(api_server, "cio_ui_mapped", "sync"))
    runs = runs_table(signed_in_page)
    links = signed_in_page.locator("table#runs").get_by_role("link", name="errors.csv")

    run_id = sync_history.mapped_run.run_id
    assert [row["Run"] for row in runs] == [f"{run_id} [0]", f"{run_id} [1]"]
    assert reports[0]["error_report"] != reports[1]["error_report"]
    downloaded = []
    for index in (0, 1):
        with signed_in_page.expect_download() as download:
            links.nth(index).click()
        downloaded.append(Path(download.value.path()).read_text())
    assert [text.splitlines()[1:] for text in downloaded] == [
        ["1,1,invalid_email,the email column is not a valid email address (RFC 5322)"],
        ["3,,missing_identifier,the id column is empty"],
    ]
    assert downloaded == [report_bytes(report).decode() for report in reports]


def test_an_xcom_edited_to_name_another_dags_report_is_not_served(api_server, sync_history):
    """A user who may edit one DAG's XComs (Airflow's own API) points its report at the report of a DAG
    the user may not read: the download answers 404, for that user and for an admin alike."""
    editor = {"Authorization": f"Bearer {api_server.token(api_server.editor)}"}
    admin = {"Authorization": f"Bearer {api_server.token()}"}
    other = sync_history.people_runs[0]
    dag_id, task_id, run_id = api_server.reader_dag, "sync_companies", sync_history.dry_run.run_id
    xcom = f"{api_server.url}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
    own_download = download_url(api_server, dag_id, task_id, run_id)
    assert (
        requests.get(
            download_url(api_server, "cio_ui_people", "sync", other.run_id), headers=editor, timeout=30
        ).status_code
        == 404
    )
    assert requests.get(own_download, headers=editor, timeout=30).status_code == 404  # a dry run: no report

    stolen = {**sync_history.dry_run_report, "error_report": sync_history.people_reports[0]["error_report"]}
    patched = requests.patch(xcom, json={"value": stolen, "map_index": -1}, headers=editor, timeout=30)
    try:
        assert patched.status_code == 200, patched.text
        answers = [requests.get(own_download, headers=headers, timeout=30) for headers in (editor, admin)]
    finally:
        restored = {"value": sync_history.dry_run_report, "map_index": -1}
        assert requests.patch(xcom, json=restored, headers=admin, timeout=30).status_code == 200

    assert [(answer.status_code, answer.json()) for answer in answers] == [
        (404, {"detail": "the report's error_report is not where this task instance writes its report"})
    ] * 2
    assert all(b"invalid_email" not in answer.content for answer in answers)


@pytest.mark.parametrize("path", ["/cio-syncs/docs", "/cio-syncs/redoc", "/cio-syncs/openapi.json"])
def test_fastapis_docs_and_openapi_routes_are_off(api_server, sync_history, path):
    admin = {"Authorization": f"Bearer {api_server.token()}"}

    anonymous = requests.get(f"{api_server.url}{path}", timeout=30, allow_redirects=False)
    signed_in = requests.get(f"{api_server.url}{path}", headers=admin, timeout=30, allow_redirects=False)

    assert (anonymous.status_code, signed_in.status_code) == (404, 404)
    assert "error-report" not in anonymous.text
