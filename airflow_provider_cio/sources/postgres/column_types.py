"""PostgreSQL's column types (type OIDs, ``pg_type.oid``) as the sync's neutral column types.

The loaders of ``stream.py`` already hand most values over as the rules send them (``numeric`` as its text,
timestamps as Unix seconds, ``json``/``jsonb`` parsed); the neutral type says what the column is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_cio.sync.convert.column_types import ColumnType, SourceColumn

BOOL = 16
BYTEA = 17
CHAR = 18
NAME = 19
INT8 = 20
INT2 = 21
INT4 = 23
TEXT = 25
OID = 26
JSON = 114
FLOAT4 = 700
FLOAT8 = 701
MACADDR = 829
INET = 869
CIDR = 650
BPCHAR = 1042
VARCHAR = 1043
DATE = 1082
TIME = 1083
TIMESTAMP = 1114
TIMESTAMPTZ = 1184
INTERVAL = 1186
TIMETZ = 1266
NUMERIC = 1700
UUID = 2950
JSONB = 3802

POSTGRES_TYPES: dict[int, tuple[ColumnType, str]] = {
    BOOL: ("boolean", "boolean"),
    INT2: ("integer", "smallint"),
    INT4: ("integer", "integer"),
    INT8: ("integer", "bigint"),
    OID: ("integer", "oid"),
    NUMERIC: ("decimal", "numeric"),
    FLOAT4: ("float", "real"),
    FLOAT8: ("float", "double precision"),
    TEXT: ("text", "text"),
    VARCHAR: ("text", "varchar"),
    BPCHAR: ("text", "char"),
    CHAR: ("text", '"char"'),
    NAME: ("text", "name"),
    UUID: ("text", "uuid"),
    INET: ("text", "inet"),
    CIDR: ("text", "cidr"),
    MACADDR: ("text", "macaddr"),
    INTERVAL: ("text", "interval"),
    DATE: ("date", "date"),
    TIMESTAMP: ("datetime", "timestamp"),
    TIMESTAMPTZ: ("instant", "timestamptz"),
    TIME: ("time", "time"),
    TIMETZ: ("time", "timetz"),
    JSON: ("nested", "json"),
    JSONB: ("nested", "jsonb"),
    BYTEA: ("binary", "bytea"),
}
"""Per type OID: the neutral column type and the type's name. ``json``/``jsonb`` are ``nested``: the driver
parses them. Arrays are ``nested``; enums and other types are ``other`` (converted by their Python type)."""


def postgres_column_type(oid: int) -> tuple[ColumnType, str]:
    """The neutral column type of a type OID and the type's name; arrays of built-in types are ``nested``."""
    known = POSTGRES_TYPES.get(oid)
    if known is not None:
        return known
    from psycopg.postgres import types

    info = types.get(oid)
    if info is not None and info.array_oid == oid:
        return "nested", f"{info.name}[]"
    return "other", info.name if info is not None else str(oid)


def postgres_columns(description: Sequence[Any]) -> list[SourceColumn]:
    """A psycopg cursor's ``description`` as source columns."""
    return [SourceColumn(column.name, *postgres_column_type(column.type_code)) for column in description]
