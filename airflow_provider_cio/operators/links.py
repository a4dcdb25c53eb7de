"""The "Error report" button of a sync task instance: downloads that run's error CSV through the plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

from airflow_provider_cio.urls import error_report_path

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


class ErrorReportLink(BaseOperatorLink):
    """Links a sync run to the download of its error CSV ("Error report" in the task instance's view).

    Empty when the run wrote no error report (no row failed). The download is served by the
    "Customer.io syncs" plugin under Airflow's authentication, from the URI in the run's report.
    """

    name = "Error report"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The download address of this run's error CSV, or "" when it has none."""
        from airflow.sdk.execution_time.xcom import XCom

        report = XCom.get_value(ti_key=ti_key, key="return_value")
        if not isinstance(report, dict) or not report.get("error_report"):
            return ""
        path = error_report_path(ti_key.dag_id, ti_key.task_id, ti_key.run_id, ti_key.map_index)
        return api_base_url().rstrip("/") + path


def api_base_url() -> str:
    """The Airflow UI's base URL (``[api] base_url``), "/" when unset."""
    from airflow.sdk.configuration import conf

    return conf.get("api", "base_url", fallback="/") or "/"
