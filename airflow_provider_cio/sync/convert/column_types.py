"""The neutral column types: the only column types the engine and the value rules know.

Each source maps its driver's types to these (``sources/mysql/column_types.py``,
``sources/postgres/column_types.py``); a driver's own type codes never reach the engine, because they mean
different things per driver (13 is MySQL's ``YEAR`` and Snowflake's ``BOOLEAN``).

=============  ==========================================================================================
Type           What a column of it holds, and what the workspace gets (docs/values.md)
=============  ==========================================================================================
``integer``    integers, sent as they are (bytes, as MySQL hands a ``BIT(n)``, read as one integer)
``decimal``    exact decimals, sent as text with every digit
``float``      floating point numbers; NaN and infinities fail the row
``boolean``    ``true`` or ``false``
``text``       strings, sent as they are
``date``       a calendar date: Unix seconds of its midnight in the sync's time zone
``datetime``   a naive date and time: Unix seconds, read in the sync's time zone
``instant``    a point in time (an aware timestamp; a naive value is read in UTC): Unix seconds
``time``       a time of day or a duration, sent as text
``year``       a year, sent as text (``"2024"``)
``json``       JSON text: parsed and sent nested
``nested``     arrays, objects and structs the driver already built: sent nested
``binary``     binary data: the row fails (convert it in the query)
``other``      anything else: converted by the Python type of each value
=============  ==========================================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

ColumnType = Literal[
    "integer",
    "decimal",
    "float",
    "boolean",
    "text",
    "date",
    "datetime",
    "instant",
    "time",
    "year",
    "json",
    "nested",
    "binary",
    "other",
]
COLUMN_TYPES: tuple[ColumnType, ...] = get_args(ColumnType)
TEMPORAL_TYPES: frozenset[ColumnType] = frozenset({"date", "datetime", "instant", "time", "year"})


@dataclass(frozen=True)
class SourceColumn:
    """One column of a query, as its source describes it to the engine.

    :param name: the column's name (the attribute name).
    :param type: its neutral type.
    :param source_type: the database's own name for the type (``DATETIME``, ``timestamptz``), for messages.
    :param server_text: its values arrive as the text the server sent (dates, decimals), for the engine to
        convert a column of a block at a time (``sync/convert/server_text.py``); otherwise as the driver's
        Python objects.
    """

    name: str
    type: ColumnType = "other"
    source_type: str = ""
    server_text: bool = False


def source_columns(cursor: Any) -> list[SourceColumn]:
    """The columns of a cursor: its source's description (``cursor.columns``) when it has one, else its DB-API
    ``description`` with every column of type ``other``."""
    columns = getattr(cursor, "columns", None)
    return list(columns) if columns is not None else described(cursor.description or ())


def described(columns: Sequence[SourceColumn | Sequence[Any]]) -> list[SourceColumn]:
    """Source columns as they are, and DB-API description rows (``(name, type_code, ...)``) as columns of type
    ``other``: a driver's type code means nothing to the engine."""
    return [column if isinstance(column, SourceColumn) else SourceColumn(str(column[0])) for column in columns]
