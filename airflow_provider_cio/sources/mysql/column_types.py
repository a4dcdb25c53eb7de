"""MySQL's column types as the sync's neutral column types, and the raw text reads of its driver.

The codes are the MySQL protocol's type codes (``MySQLdb.constants.FIELD_TYPE``), as ``cursor.description``
gives them. They mean nothing outside this source: the engine sees only the neutral types.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from airflow_provider_cio.sync.convert.column_types import ColumnType, SourceColumn

MYSQL_DECIMAL = 0
MYSQL_TINY = 1
MYSQL_SHORT = 2
MYSQL_LONG = 3
MYSQL_FLOAT = 4
MYSQL_DOUBLE = 5
MYSQL_NULL = 6
MYSQL_TIMESTAMP = 7
MYSQL_LONGLONG = 8
MYSQL_INT24 = 9
MYSQL_DATE = 10
MYSQL_TIME = 11
MYSQL_DATETIME = 12
MYSQL_YEAR = 13
MYSQL_NEWDATE = 14
MYSQL_VARCHAR = 15
MYSQL_BIT = 16
MYSQL_JSON = 245
MYSQL_NEWDECIMAL = 246
MYSQL_ENUM = 247
MYSQL_SET = 248
MYSQL_TINY_BLOB = 249
MYSQL_MEDIUM_BLOB = 250
MYSQL_LONG_BLOB = 251
MYSQL_BLOB = 252
MYSQL_VAR_STRING = 253
MYSQL_STRING = 254
MYSQL_GEOMETRY = 255

MYSQL_TYPES: dict[int, tuple[ColumnType, str]] = {
    MYSQL_DECIMAL: ("decimal", "DECIMAL"),
    MYSQL_NEWDECIMAL: ("decimal", "DECIMAL"),
    MYSQL_TINY: ("integer", "TINYINT"),
    MYSQL_SHORT: ("integer", "SMALLINT"),
    MYSQL_INT24: ("integer", "MEDIUMINT"),
    MYSQL_LONG: ("integer", "INT"),
    MYSQL_LONGLONG: ("integer", "BIGINT"),
    MYSQL_BIT: ("integer", "BIT"),
    MYSQL_FLOAT: ("float", "FLOAT"),
    MYSQL_DOUBLE: ("float", "DOUBLE"),
    MYSQL_TIMESTAMP: ("instant", "TIMESTAMP"),
    MYSQL_DATETIME: ("datetime", "DATETIME"),
    MYSQL_DATE: ("date", "DATE"),
    MYSQL_NEWDATE: ("date", "DATE"),
    MYSQL_TIME: ("time", "TIME"),
    MYSQL_YEAR: ("year", "YEAR"),
    MYSQL_JSON: ("json", "JSON"),
    MYSQL_VARCHAR: ("text", "VARCHAR"),
    MYSQL_VAR_STRING: ("text", "VARCHAR"),
    MYSQL_STRING: ("text", "CHAR"),
    MYSQL_ENUM: ("text", "ENUM"),
    MYSQL_SET: ("text", "SET"),
    # TEXT and BLOB share these codes: text arrives as str, binary as bytes (refused by its Python type)
    MYSQL_TINY_BLOB: ("text", "TINYTEXT"),
    MYSQL_MEDIUM_BLOB: ("text", "MEDIUMTEXT"),
    MYSQL_LONG_BLOB: ("text", "LONGTEXT"),
    MYSQL_BLOB: ("text", "TEXT"),
    MYSQL_GEOMETRY: ("binary", "GEOMETRY"),
    MYSQL_NULL: ("other", "NULL"),
}
"""Per MySQL type code: its neutral column type and the name a message gives it. BINARY, VARBINARY and
BLOB columns share the codes of CHAR, VARCHAR and TEXT: their values arrive as bytes and fail the row."""


def mysql_column_type(type_code: Any) -> ColumnType:
    """The neutral column type of a MySQL type code (``other`` for a code this map does not know)."""
    known = MYSQL_TYPES.get(type_code)
    return known[0] if known is not None else "other"


def mysql_columns(description: Sequence[Sequence[Any]], server_text: Collection[ColumnType] = ()) -> list[SourceColumn]:
    """A MySQL cursor's ``description`` as source columns.

    :param server_text: the column types the driver was asked to leave as the server's text
        (:func:`raw_reads`): columns of these types are marked so.
    """
    columns = []
    for name, type_code, *_ in description:
        kind, source_type = MYSQL_TYPES.get(type_code, ("other", str(type_code)))
        columns.append(SourceColumn(str(name), kind, source_type, server_text=kind in server_text))
    return columns


def driver_converters(converters: Mapping[ColumnType, Callable[[Any], Any]]) -> dict[int, Callable[[Any], Any]]:
    """Per MySQL type code, the converter of its neutral type (``ValueRules.text_converters``), for mysqlclient to
    apply as it reads each value."""
    return {code: converters[kind] for code, (kind, _) in MYSQL_TYPES.items() if kind in converters}


def raw_reads(server_text: Collection[ColumnType]) -> dict[int, None]:
    """mysqlclient converters that leave the values of these column types as the bytes the server sent."""
    return {code: None for code, (kind, _) in MYSQL_TYPES.items() if kind in server_text}
