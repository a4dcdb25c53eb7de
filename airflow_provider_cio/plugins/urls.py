"""The address of the "Customer.io syncs" page in the Airflow UI (its app's prefix and downloads are in
:mod:`airflow_provider_cio.urls`, shared with the operators' "Error report" link)."""

from __future__ import annotations

PAGE_ROUTE = "cio-syncs"
"""The page's address in the Airflow UI: ``/plugin/cio-syncs``."""
