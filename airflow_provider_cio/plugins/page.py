"""The "Customer.io syncs" page as HTML: one table per sync task, one line per run.

Shown inside the Airflow UI (an iframe of the "Customer.io syncs" navigation entry) and on its own at
``/cio-syncs/``. Every value is escaped; links to Airflow open in the top window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from html import escape
from urllib.parse import quote, urlencode

from airflow_provider_cio.plugins.runs import SyncRun, SyncTaskRuns

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 16px; color: #1a202c; }
h1 { font-size: 1.4rem; margin: 0 0 4px; }
h2 { font-size: 1.05rem; margin: 24px 0 6px; }
h2 small { font-weight: normal; color: #4a5568; }
p.note { color: #4a5568; margin: 0 0 12px; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #e2e8f0; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f7fafc; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.state { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 0.8rem;
         color: #fff; background: #718096; }
.state.success { background: #2f855a; } .state.failed { background: #c53030; }
.state.running { background: #3182ce; } .state.queued, .state.scheduled { background: #805ad5; }
.state.up_for_retry { background: #d69e2e; } .state.skipped { background: #e91e63; }
.error { color: #c53030; font-size: 0.8rem; }
.dry { color: #6b46c1; font-size: 0.8rem; }
a { color: #2b6cb0; }
"""

COLUMNS = (
    "Run",
    "Status",
    "Started (UTC)",
    "Duration",
    "Rows read",
    "Sent",
    "Failed",
    "Suppressed",
    "last_sync_time",
    "Error report",
)


def render_page(tasks: Sequence[SyncTaskRuns], *, runs: int, mount: str, airflow_root: str) -> str:
    """The whole page.

    :param tasks: the sync tasks with their recent runs.
    :param runs: how many runs per task were asked for.
    :param mount: where the plugin is served (for its own links), e.g. ``/cio-syncs``.
    :param airflow_root: the Airflow UI's root path (for links to task instances), e.g. ``""``.
    """
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Customer.io syncs</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Customer.io syncs</h1>",
        f"<p class='note'>The last {runs} runs of every task that syncs MySQL rows into a Customer.io workspace. "
        "Counts come from each run's report (XCom <code>return_value</code>).</p>",
    ]
    if not tasks:
        parts.append("<p>No sync tasks in the DAGs you can see.</p>")
    for item in tasks:
        parts.append(task_section(item, mount, airflow_root))
    parts.append("</body></html>")
    return "".join(parts)


def task_section(item: SyncTaskRuns, mount: str, airflow_root: str) -> str:
    """One sync task: a heading and the table of its runs."""
    task = item.task
    dag_url = f"{airflow_root}/dags/{quote(task.dag_id, safe='')}"
    heading = (
        f"<h2><a href='{escape(dag_url)}' target='_top'>{escape(task.dag_id)}</a> / {escape(task.task_id)} "
        f"<small>{escape(task.operator)}</small></h2>"
    )
    if not item.runs:
        return heading + "<p class='note'>No runs yet.</p>"
    head = "".join(f"<th>{escape(name)}</th>" for name in COLUMNS)
    body = "".join(run_row(run, mount, airflow_root) for run in item.runs)
    return f"{heading}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def run_row(run: SyncRun, mount: str, airflow_root: str) -> str:
    """One run as a table row."""
    report = run.report or {}
    ti_url = f"{airflow_root}/dags/{quote(run.dag_id, safe='')}/runs/{quote(run.run_id, safe='')}/tasks/"
    ti_url += quote(run.task_id, safe="")
    if run.map_index >= 0:
        ti_url += f"/mapped/{run.map_index}"
    label = run.run_id + (f" [{run.map_index}]" if run.map_index >= 0 else "")
    cells = [
        (f"<a href='{escape(ti_url)}' target='_top'>{escape(label)}</a>", False),
        (status_cell(run), False),
        (escape(utc(run.start_date)), False),
        (escape(duration(run)), False),
        (number(run.count("rows_read")), True),
        (sent_cell(run), True),
        (number(run.count("rows_failed")), True),
        (number(run.count("rows_suppressed")), True),
        (escape(sync_time(report.get("last_sync_time"))), False),
        (download_cell(run, mount), False),
    ]
    return "<tr>" + "".join(f"<td class='n'>{c}</td>" if numeric else f"<td>{c}</td>" for c, numeric in cells) + "</tr>"


def status_cell(run: SyncRun) -> str:
    """The task state, the report's verdict when it differs, and what stopped the sync."""
    state = run.state or "no status"
    html = f"<span class='state {escape(state)}'>{escape(state)}</span>"
    report = run.report or {}
    if report.get("dry_run"):
        html += " <span class='dry'>dry run</span>"
    if report.get("error"):
        html += f"<div class='error'>{escape(str(report['error'])[:300])}</div>"
    return html


def sent_cell(run: SyncRun) -> str:
    """Rows sent; for a dry run, the rows that would have been sent."""
    report = run.report or {}
    would_send = report.get("would_send")
    if report.get("dry_run") and isinstance(would_send, dict):
        return f"<span class='dry'>would send {int(would_send.get('rows', 0)):,}</span>"
    return number(run.count("rows_sent"))


def download_cell(run: SyncRun, mount: str) -> str:
    """The link to the run's error CSV, or a dash."""
    if not run.has_error_report:
        return "&ndash;"
    query = urlencode({"dag_id": run.dag_id, "task_id": run.task_id, "run_id": run.run_id, "map_index": run.map_index})
    return f"<a href='{escape(mount)}/error-report?{escape(query)}' download>errors.csv</a>"


def number(value: int | None) -> str:
    """A count with thousands separators, or a dash when there is no report."""
    return "&ndash;" if value is None else f"{value:,}"


def utc(moment: datetime | None) -> str:
    """A date in UTC to the second."""
    return "" if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def duration(run: SyncRun) -> str:
    """The sync's duration from its report, else the task instance's."""
    seconds = (run.report or {}).get("duration_seconds")
    if not isinstance(seconds, (int, float)):
        if run.start_date is None or run.end_date is None:
            return ""
        seconds = (run.end_date - run.start_date).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m {rest:02d}s"


def sync_time(value: object) -> str:
    """``last_sync_time`` as a UTC date (0: the first sync, which reads every row)."""
    if not isinstance(value, int):
        return ""
    if value == 0:
        return "0 (first sync)"
    return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
