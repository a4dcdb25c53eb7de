"""The pages as HTML, from Jinja2 templates (``templates/``) with autoescape on.

Shown inside the Airflow UI (an iframe of the "Customer.io syncs" navigation entry) and on their own at
``/cio-syncs/``. Links to Airflow open in the top window.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape

from airflow_provider_cio.plugins import charts
from airflow_provider_cio.plugins.health import SyncSummary
from airflow_provider_cio.plugins.runs import RenderedQuery, SyncRun
from airflow_provider_cio.plugins.views import STATUS_FILTERS, Filters, Overview
from airflow_provider_cio.sync.records.kinds import KINDS


@cache
def environment() -> Environment:
    """The templates' environment (autoescape on for every template)."""
    env = Environment(
        loader=PackageLoader("airflow_provider_cio.plugins", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        utc=utc, number=number, duration=duration, sync_time=sync_time, percent=percent, q=lambda v: quote(v, safe="")
    )
    env.globals.update(sparkline=charts.sparkline)
    return env


def render_overview(view: Overview, filters: Filters, *, limit: int, mount: str, airflow_root: str) -> str:
    """The overview page (at most ``limit`` rows)."""
    every = urlencode(
        {
            "dag": filters.dag,
            "status": filters.status,
            "connection": filters.connection,
            "source": filters.source,
            "limit": 10_000,
        }
    )
    template = environment().get_template("overview.html")
    return template.render(
        view=view,
        filters=filters,
        show_all=f"{mount}/?{every}",
        status_filters=STATUS_FILTERS,
        mount=mount,
        airflow_root=airflow_root,
    )


def render_sync(
    summary: SyncSummary, query: RenderedQuery | None = None, *, runs: int, mount: str, airflow_root: str
) -> str:
    """A sync's page: settings, the query of the last run, charts of the last ``runs`` runs, and the run list.

    :param query: the query the last run rendered (none: the block is left out).
    """
    shown = summary.runs[:runs]
    oldest_first = list(reversed(shown))
    return (
        environment()
        .get_template("sync.html")
        .render(
            s=summary,
            query=query,
            runs=shown,
            asked=runs,
            settings=settings_of(summary),
            rows_chart=charts.rows_chart(oldest_first),
            duration_chart=charts.duration_chart(oldest_first),
            mount=mount,
            airflow_root=airflow_root,
            download=lambda run: download_url(run, mount),
            ti_url=lambda run: ti_url(run, airflow_root),
        )
    )


def settings_of(summary: SyncSummary) -> list[tuple[str, str]]:
    """The sync's settings as (name, value): from the serialized task, else its newest report.

    A report without the mirror-mode keys is an upsert sync.
    """
    report = summary.last_report
    task = summary.task

    def pick(name: str, default: str = "not recorded") -> str:
        for value in (task.setting(name), report.get(name), (report.get("settings") or {}).get(name)):
            if value is not None and value != "":
                return str(value)
        return default

    segment = pick("segment_name", "")
    if not segment and report.get("segment_id"):
        segment = f"id {report['segment_id']}"
    return [
        ("Operator", task.operator),
        ("Import type", summary.import_type),
        *([("Event name", summary.event_name or "from the name column")] if named_events(summary.import_type) else []),
        ("Workspace connection", summary.connection),
        ("Source connection", summary.source_connection),
        ("Mode", pick("sync_mode", "upsert")),
        ("Removed rows", pick("on_removed", "left in the workspace (upsert)")),
        ("identify_by", pick("identify_by")),
        ("Empty values", pick("empty_values")),
        ("Segment", segment or "none"),
        ("Pool", task.pool),
        ("Dry run", "yes" if report.get("dry_run") else "no"),
    ]


def download_url(run: SyncRun, mount: str) -> str:
    """The run's error CSV on the plugin."""
    query = urlencode({"dag_id": run.dag_id, "task_id": run.task_id, "run_id": run.run_id, "map_index": run.map_index})
    return f"{mount}/error-report?{query}"


def ti_url(run: SyncRun, airflow_root: str) -> str:
    """The task instance in the Airflow UI."""
    url = f"{airflow_root}/dags/{quote(run.dag_id, safe='')}/runs/{quote(run.run_id, safe='')}/tasks/"
    url += quote(run.task_id, safe="")
    return url + (f"/mapped/{run.map_index}" if run.map_index >= 0 else "")


def number(value: int | None) -> str:
    """A count with thousands separators, or an en dash when there is none."""
    return "\N{EN DASH}" if value is None else f"{value:,}"


def percent(value: float | None) -> str:
    """A share as a whole percentage, or an en dash."""
    return "\N{EN DASH}" if value is None else f"{value:.0%}"


def utc(moment: datetime | None) -> str:
    """A date in UTC to the minute."""
    return "" if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


def duration(seconds: float | None) -> str:
    """Seconds as ``12.3 s``, ``4m 05s`` or ``2h 03m``."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m {rest:02d}s"


def sync_time(value: Any) -> str:
    """``last_sync_time`` as a UTC date (0: the first sync, which reads every row)."""
    if not isinstance(value, int):
        return ""
    if value == 0:
        return "0 (first sync)"
    return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def named_events(import_type: str) -> bool:
    """Whether a sync of this import type names what it sends (``event_name``): events do."""
    kind = KINDS.get(import_type)
    return kind is not None and kind.event_name
