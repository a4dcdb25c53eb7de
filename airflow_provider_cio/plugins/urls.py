"""Where the "Customer.io syncs" plugin lives on the Airflow API server (shared by the plugin and the link).

Kept free of FastAPI and of the metadata database: the "Error report" link imports it on workers.
"""

from __future__ import annotations

from urllib.parse import urlencode

URL_PREFIX = "/cio-syncs"
"""The plugin's FastAPI app is mounted here on the API server."""

PAGE_ROUTE = "cio-syncs"
"""The page's address in the Airflow UI: ``/plugin/cio-syncs``."""


def error_report_path(dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    """The plugin's download address of one sync run's error CSV, from the server root."""
    query = urlencode({"dag_id": dag_id, "task_id": task_id, "run_id": run_id, "map_index": map_index})
    return f"{URL_PREFIX}/error-report?{query}"
