"""Snowflake's column types (the connector's ``cursor.description`` type codes) as the sync's neutral types.

The codes are the positions of ``snowflake.connector.constants.FIELD_TYPES`` (``FIXED`` is 0, ``BOOLEAN`` 13).
They mean nothing outside this source: 13 is also MySQL's ``YEAR``, and the engine sees only the neutral types.
A ``NUMBER`` (``FIXED``) is an integer when its scale is 0 and an exact decimal otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_cio.sync.convert.column_types import ColumnType, SourceColumn

FIXED = 0
REAL = 1
TEXT = 2
DATE = 3
TIMESTAMP = 4
VARIANT = 5
TIMESTAMP_LTZ = 6
TIMESTAMP_TZ = 7
TIMESTAMP_NTZ = 8
OBJECT = 9
ARRAY = 10
BINARY = 11
TIME = 12
BOOLEAN = 13
GEOGRAPHY = 14
GEOMETRY = 15
VECTOR = 16
MAP = 17

SNOWFLAKE_TYPES: dict[int, tuple[ColumnType, str]] = {
    REAL: ("float", "FLOAT"),
    TEXT: ("text", "VARCHAR"),
    DATE: ("date", "DATE"),
    TIMESTAMP: ("datetime", "TIMESTAMP"),
    TIMESTAMP_NTZ: ("datetime", "TIMESTAMP_NTZ"),
    TIMESTAMP_LTZ: ("instant", "TIMESTAMP_LTZ"),
    TIMESTAMP_TZ: ("instant", "TIMESTAMP_TZ"),
    VARIANT: ("json", "VARIANT"),
    OBJECT: ("json", "OBJECT"),
    ARRAY: ("json", "ARRAY"),
    MAP: ("nested", "MAP"),
    VECTOR: ("nested", "VECTOR"),
    BINARY: ("binary", "BINARY"),
    TIME: ("time", "TIME"),
    BOOLEAN: ("boolean", "BOOLEAN"),
    GEOGRAPHY: ("text", "GEOGRAPHY"),
    GEOMETRY: ("text", "GEOMETRY"),
}
"""Per type code but ``FIXED`` (:func:`snowflake_column_type`): the neutral column type and the type's name.
VARIANT, OBJECT and ARRAY arrive as JSON text (structured types as Arrow lists and structs): ``json`` parses
the text and keeps what is nested already. GEOGRAPHY and GEOMETRY arrive as GeoJSON text."""


def snowflake_column_type(type_code: int, scale: int | None) -> tuple[ColumnType, str]:
    """The neutral column type of a type code (and a ``NUMBER``'s scale), and the type's name for messages."""
    if type_code == FIXED:
        return ("decimal", f"NUMBER(scale {scale})") if scale else ("integer", "NUMBER")
    return SNOWFLAKE_TYPES.get(type_code, ("other", str(type_code)))


def snowflake_columns(description: Sequence[Any]) -> list[SourceColumn]:
    """A Snowflake cursor's ``description`` (the connector's ``ResultMetadata``) as source columns."""
    return [SourceColumn(column.name, *snowflake_column_type(column.type_code, column.scale)) for column in description]
