"""An auth manager for the page tests: Airflow's simple auth manager, plus users limited to some DAGs.

The simple auth manager grants by role only; a deployment's auth manager (FAB, Keycloak, ...) grants per
DAG. This one keeps every rule of the simple manager and, for the users named in ``CIO_TEST_READER``,
refuses every DAG not listed in ``CIO_TEST_READER_DAGS`` (both comma-separated), the way a per-DAG
permission would. The API server imports it by its module name (the tests put this folder on its ``PYTHONPATH``).
"""

from __future__ import annotations

import os
from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager


class OneDagAuthManager(SimpleAuthManager):
    """The simple auth manager; the users of ``CIO_TEST_READER`` see the DAGs of ``CIO_TEST_READER_DAGS`` only."""

    def is_authorized_dag(self, *, method: Any, user: Any, access_entity: Any = None, details: Any = None) -> bool:
        limited = set(filter(None, os.environ.get("CIO_TEST_READER", "").split(",")))
        allowed = set(filter(None, os.environ.get("CIO_TEST_READER_DAGS", "").split(",")))
        if user.get_name() in limited and details is not None and details.id not in allowed:
            return False
        return super().is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details)
