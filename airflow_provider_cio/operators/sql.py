"""The sync operators on any Airflow SQL connection: ``conn_id`` names it, its connection type picks the source.

``mysql`` gets the MySQL source, ``postgres`` the PostgreSQL source, any other connection whose hook is a
common.sql ``DbApiHook`` (SQLite, DuckDB, and the others ``SQLExecuteQueryOperator`` runs on) the generic
DB-API reader (:mod:`~airflow_provider_cio.sources.registry`). docs/sources.md says what each reader does,
and what read-only means per driver. One operator per record family, defined with its family:
:class:`~airflow_provider_cio.operators.reverse_etl.SQLReverseETLOperator` (people, objects, events) and
:class:`~airflow_provider_cio.operators.relationships.SQLRelationshipOperator`; the MySQL and PostgreSQL
operators are these, bound to one source.
"""

from __future__ import annotations

from airflow_provider_cio.operators.relationships import SQLRelationshipOperator
from airflow_provider_cio.operators.reverse_etl import SQLReverseETLOperator

__all__ = ["SQLRelationshipOperator", "SQLReverseETLOperator"]
