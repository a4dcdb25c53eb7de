"""The addresses of the "Customer.io syncs" page: its route in the Airflow UI, and (from
:mod:`airflow_provider_cio.urls`, shared with the operators' link) its app's prefix and downloads."""

from __future__ import annotations

from airflow_provider_cio.urls import URL_PREFIX, error_report_path

__all__ = ["PAGE_ROUTE", "URL_PREFIX", "error_report_path"]

PAGE_ROUTE = "cio-syncs"
"""The page's address in the Airflow UI: ``/plugin/cio-syncs``."""
