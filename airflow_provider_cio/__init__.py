"""Apache Airflow provider that syncs people, objects and relationships from MySQL or PostgreSQL into Customer.io."""

from __future__ import annotations

from airflow_provider_cio.get_provider_info import package_version

__version__ = package_version()
