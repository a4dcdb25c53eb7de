"""DuckDB's column types (the ``id`` of each of a relation's ``types``) as the sync's neutral types.

A few types lose their value in DuckDB's Arrow form (``TIME WITH TIME ZONE`` its offset; ``BIT`` and
``BIGNUM`` arrive as DuckDB's internal bytes): the stream reads those as DuckDB's text of them
(:data:`AS_TEXT`), as its ``fetchmany`` hands them over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_cio.sync.convert.column_types import ColumnType, SourceColumn

INTEGERS = ("tinyint", "smallint", "integer", "bigint", "hugeint")
UNSIGNED = ("utinyint", "usmallint", "uinteger", "ubigint", "uhugeint")

AS_TEXT = frozenset({"time with time zone", "bit", "bignum", "varint"})
"""Type ids the stream casts to ``VARCHAR`` in the query's result: their Arrow form loses the value."""

DUCKDB_TYPES: Mapping[str, ColumnType] = {
    **dict.fromkeys(INTEGERS + UNSIGNED, "integer"),
    "decimal": "decimal",
    "float": "float",
    "double": "float",
    "boolean": "boolean",
    "varchar": "text",  # JSON too: its text, as the generic reader sends it (json_columns parses it)
    "enum": "text",
    "uuid": "text",
    "date": "date",
    **dict.fromkeys(("timestamp", "timestamp_s", "timestamp_ms", "timestamp_ns"), "datetime"),
    "timestamp with time zone": "instant",
    "time": "time",
    "time_ns": "time",
    "interval": "time",
    **dict.fromkeys(AS_TEXT, "text"),
    **dict.fromkeys(("list", "array", "struct", "map", "union"), "nested"),
    "blob": "binary",
}
"""Per DuckDB type id, the neutral column type; any other is ``other`` (converted by each value's Python type)."""


def duckdb_columns(names: Sequence[str], types: Sequence[Any]) -> list[SourceColumn]:
    """A relation's ``columns`` and ``types`` (``DuckDBPyType``) as source columns."""
    pairs = zip(names, types, strict=True)
    return [SourceColumn(name, DUCKDB_TYPES.get(kind.id, "other"), str(kind)) for name, kind in pairs]
