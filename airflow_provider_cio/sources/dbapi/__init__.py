"""Any Airflow SQL connection as a source: the generic DB-API reader of a common.sql ``DbApiHook``."""

from __future__ import annotations
