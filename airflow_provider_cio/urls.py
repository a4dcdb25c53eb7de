"""Where the "Customer.io syncs" plugin's app lives on the Airflow API server, and its error report download.

Shared by the plugin (which serves these addresses) and the operators' "Error report" link (which
points at them from a worker), so that the operators do not import the UI. Kept free of FastAPI and
of the metadata database.
"""

from __future__ import annotations

from urllib.parse import urlencode

URL_PREFIX = "/cio-syncs"
"""The plugin's FastAPI app is mounted here on the API server."""


def error_report_path(dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    """The plugin's download address of one sync run's error CSV, from the server root."""
    query = urlencode({"dag_id": dag_id, "task_id": task_id, "run_id": run_id, "map_index": map_index})
    return f"{URL_PREFIX}/error-report?{query}"
