"""The Airflow plugin: registered through the ``airflow.plugins`` entry point of this distribution.

It mounts the plugin's FastAPI app on the API server at ``/cio-syncs`` and adds "Customer.io syncs" to
the UI's Browse menu (``/plugin/cio-syncs``), a page that shows the app's page.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_cio.plugins.urls import PAGE_ROUTE
from airflow_provider_cio.urls import URL_PREFIX


class FastAPIAppOnDemand:
    """``fastapi_apps`` built when the API server asks for it.

    Task processes load every plugin too (for macros); they never read ``fastapi_apps`` and so never
    import FastAPI or the app.
    """

    def __get__(self, instance: object, owner: type | None = None) -> list[dict[str, Any]]:
        from airflow_provider_cio.plugins.app import app

        return [{"app": app, "url_prefix": URL_PREFIX, "name": "Customer.io syncs"}]


class CustomerIOSyncsPlugin(AirflowPlugin):
    """The "Customer.io syncs" page: sync runs, their counts and their error reports."""

    name = "customerio_syncs"
    fastapi_apps = FastAPIAppOnDemand()
    external_views = [
        {
            "name": "Customer.io syncs",
            "href": URL_PREFIX.lstrip("/") + "/",
            "destination": "nav",
            "category": "browse",
            "url_route": PAGE_ROUTE,
        }
    ]
