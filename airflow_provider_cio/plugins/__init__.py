"""The "Customer.io syncs" Airflow plugin: a page of sync runs and their error reports on the API server."""

from __future__ import annotations
