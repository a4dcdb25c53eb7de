"""Apache Airflow provider that syncs people, objects and relationships from MySQL into Customer.io."""

from __future__ import annotations

__version__ = "0.1.0"
