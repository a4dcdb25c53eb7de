"""How a database value becomes an attribute value in the workspace. One place for every rule.

The rules work on neutral column types (``column_types.py``); each source maps its own types to them.

=============  =============================================================================
Column type    Sent to the workspace
=============  =============================================================================
``integer``    the integer (``BIGINT UNSIGNED`` included; bytes read as one big-endian integer)
``decimal``    a string with every digit (``"1234.50"``): JSON numbers would be read as floats and
               lose digits; the workspace stores attributes as strings anyway
``float``      the number; ``NaN`` and infinities are a row error
``boolean``    ``true`` or ``false``
``datetime``   Unix seconds (an integer, rounded down), read in the sync's ``timezone`` (default UTC)
``instant``    Unix seconds of the point in time it holds, whatever ``timezone`` says (a naive value
               is read in UTC)
``date``       Unix seconds of its midnight in ``timezone``
``time``       a string ``"[-]HH:MM:SS[.ffffff]"`` (a duration or a time of day, not a point in time)
``year``       a string (``"2024"``)
``json``       the nested value its text holds (objects and arrays); invalid JSON is a row error
``nested``     the nested value
``text``       the string (a set: its members joined by commas)
``binary``     a row error: convert it in the query (``HEX(col)``, ``ST_AsText(col)``)
``other``      by the Python type of the value, to the same results as above
``NULL``/``''``  ``empty_values="ignore"``: the attribute is left out (the workspace keeps what it has);
               ``"delete"``: sent as ``null``, which removes it
=============  =============================================================================

A string over 1000 UTF-8 bytes, or a nested value over 1000 bytes of compact JSON, is a row error.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from airflow_provider_cio.sync.account.outcomes import BINARY_VALUE, INVALID_VALUE, TOO_LARGE, RowRefused
from airflow_provider_cio.sync.convert.column_types import ColumnType
from airflow_provider_cio.sync.limits import MAX_ATTRIBUTE_VALUE_BYTES

Converter = Callable[[Any], Any]

MAX_JSON_DEPTH = 254
"""The deepest nesting of arrays and objects a nested value may have (the JSON encoder's limit)."""

ONE_SECOND = dt.timedelta(seconds=1)
UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_NAIVE = EPOCH.replace(tzinfo=None)
parse_datetime = dt.datetime.fromisoformat


class InvalidDate:
    """A ``DATETIME``/``DATE`` MySQL stores but no calendar has (``0000-00-00``, ``2024-00-10``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Unsendable:
    """A value a source's reader found the workspace cannot take (a PostgreSQL ``bytea``, an infinite date),
    with what the row error says: the reader knows its database's functions for the advice.
    """

    __slots__ = ("error_type", "message")

    def __init__(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.message = message

    def __repr__(self) -> str:  # stable across runs: a mirror sync hashes it
        return f"Unsendable({self.error_type!r})"

    __str__ = __repr__


def refuse_unsendable(value: Unsendable) -> Any:
    """A value the reader flagged: its row fails with the reader's message."""
    raise RowRefused(value.error_type, value.message)


def refuse_invalid_date(value: InvalidDate) -> Any:
    """A zero or partial date cannot become Unix seconds."""
    raise RowRefused(
        INVALID_VALUE, "holds a zero or invalid date; turn it into NULL in the query, e.g. NULLIF(col, '0000-00-00')"
    )


class ValueRules:
    """Converts the values of one column, chosen once from the column's type.

    :param timezone: IANA name of the time zone naive ``DATETIME``/``DATE`` values are read in.
    """

    def __init__(self, timezone: str = "UTC") -> None:
        self.timezone = UTC if timezone.upper() == "UTC" else ZoneInfo(timezone)
        self._by_type: dict[type, Converter] = {
            InvalidDate: refuse_invalid_date,
            Unsendable: refuse_unsendable,
            bool: keep,
            float: finite_number,
            Decimal: decimal_string,
            dt.datetime: self.datetime_seconds,
            dt.date: self.date_seconds,
            dt.timedelta: duration_string,
            dt.time: dt.time.isoformat,
            bytes: refuse_binary,
            bytearray: refuse_binary,
            memoryview: refuse_binary,
            dict: nested_value,
            list: nested_value,
            set: set_string,
            frozenset: set_string,
            uuid.UUID: str,
        }

    def text_converters(self) -> dict[ColumnType, Callable[[Any], Any]]:
        """Per column type, how to convert a value that arrives as the text the server sent.

        With them ``datetime``, ``instant`` and ``date`` become Unix seconds and ``decimal``, ``time`` and
        ``year`` the exact text the server sent, so the hot path only sees integers and strings and no
        ``Decimal`` object is ever built. The result is the same as converting the driver's default
        objects (:meth:`by_python_type`), only faster. A source whose driver can hand over the server's
        text (MySQL's) applies them by its own type codes.
        """
        naive = utc_text_seconds if self.timezone is UTC else self.zoned_text_seconds
        return {
            "datetime": naive,
            "instant": utc_text_seconds,
            "date": naive,
            "decimal": text,
            "time": text,
            "year": text,
        }

    def zoned_text_seconds(self, value: str | bytes) -> int | InvalidDate:
        """A naive date and time (or date) text read in the sync's time zone, as Unix seconds."""
        try:
            return self.datetime_seconds(parse_datetime(text(value)[:19]))
        except ValueError:
            return InvalidDate(text(value))

    def for_column(self, column_type: ColumnType) -> Converter:
        """The converter for a column of a neutral type.

        Strings and integers never reach a converter, but in ``json`` columns: the op builders keep them as
        they are (checking only the size of strings). A converter raises :class:`RowRefused` for a value it
        cannot send.
        """
        if column_type == "json":
            return json_value
        if column_type == "year":
            return str
        if column_type == "instant":
            return self.by_python_type_in_utc
        if column_type == "integer":
            return self.integer
        if column_type == "binary":
            return refuse_binary_column
        return self.by_python_type

    def integer(self, value: Any) -> Any:
        """An ``integer`` column's value: bytes (a MySQL ``BIT(n)``) as one integer, others by their type."""
        if isinstance(value, (bytes, bytearray)):
            return int.from_bytes(value, "big")
        return value if isinstance(value, int) else self.by_python_type(value)

    def by_python_type(self, value: Any) -> Any:
        """Convert a value by its Python type (any DB-API driver)."""
        convert = self._by_type.get(type(value))
        if convert is None:
            convert = next((c for t, c in self._by_type.items() if isinstance(value, t)), unrepresentable)
        return convert(value)

    def by_python_type_in_utc(self, value: Any) -> Any:
        """An ``instant`` column's value: a naive datetime is read in UTC (the session time zone)."""
        if type(value) is dt.datetime and value.tzinfo is None:
            return (value - EPOCH.replace(tzinfo=None)) // ONE_SECOND
        return self.by_python_type(value)

    def datetime_seconds(self, value: dt.datetime) -> int:
        """Unix seconds, rounded down; naive values are read in the sync's time zone."""
        if value.tzinfo is None:
            if self.timezone is UTC:
                return (value - EPOCH_NAIVE) // ONE_SECOND
            value = value.replace(tzinfo=self.timezone)
        return (value - EPOCH) // ONE_SECOND

    def date_seconds(self, value: dt.date) -> int:
        """Unix seconds of the date's midnight in the sync's time zone."""
        return self.datetime_seconds(dt.datetime(value.year, value.month, value.day))


def utc_text_seconds(value: str | bytes) -> int | InvalidDate:
    """``YYYY-MM-DD[ HH:MM:SS[.ffffff]]`` read in UTC, as Unix seconds rounded down; zero dates as :class:`InvalidDate`.

    A ``TIMESTAMP`` is always read this way: it is a point in time, and the sync's session time zone is UTC.
    """
    if type(value) is str:
        try:
            return (parse_datetime(value[:19]) - EPOCH_NAIVE) // ONE_SECOND  # fractions of a second round down
        except ValueError:
            return InvalidDate(value)
    return utc_text_seconds(text(value))


def text(value: str | bytes) -> str:
    """A value of MySQL's text protocol as ``str`` (drivers hand over ``str`` or ``bytes``)."""
    return value if isinstance(value, str) else bytes(value).decode()


def keep(value: Any) -> Any:
    """Send the value as it is."""
    return value


def finite_number(value: float) -> float:
    """A float, unless it is NaN or infinite (JSON cannot hold those)."""
    if not math.isfinite(value):
        raise RowRefused(INVALID_VALUE, "holds NaN or an infinite number, which JSON cannot represent")
    return value


def decimal_string(value: Decimal) -> str:
    """Every digit of a DECIMAL, in plain notation (never ``1E-8``)."""
    if not value.is_finite():
        raise RowRefused(INVALID_VALUE, "holds NaN or an infinite number, which JSON cannot represent")
    return format(value, "f")


def duration_string(value: dt.timedelta) -> str:
    """A MySQL ``TIME`` (a duration) as ``[-]HH:MM:SS[.ffffff]``; hours may exceed 24."""
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if micros < 0 else ""
    seconds, fraction = divmod(abs(micros), 1_000_000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    text = f"{sign}{hours:02d}:{minute:02d}:{second:02d}"
    return f"{text}.{fraction:06d}" if fraction else text


def set_string(value: set[Any] | frozenset[Any]) -> str:
    """A ``SET`` value as MySQL writes it: members joined by commas, sorted."""
    return ",".join(sorted(str(member) for member in value))


def refuse_binary(value: Any) -> Any:
    """Binary data is never sent: it would be mangled by any text encoding."""
    raise RowRefused(
        BINARY_VALUE, "holds binary data; convert it in the query, e.g. HEX(col), TO_BASE64(col) or ST_AsText(col)"
    )


def refuse_binary_column(value: Any) -> Any:
    """A ``binary`` column's value fails its row: with the reader's own message when it flagged one."""
    if isinstance(value, Unsendable):
        return refuse_unsendable(value)
    return refuse_binary(value)


def unrepresentable(value: Any) -> Any:
    """A value of a type the sync does not know how to send."""
    raise RowRefused(INVALID_VALUE, f"holds a {type(value).__name__}, which cannot be sent; cast it in the query")


def json_value(value: Any) -> Any:
    """A JSON column's text as the nested value it holds (objects and arrays stay nested)."""
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise RowRefused(
                INVALID_VALUE,
                "is a JSON column but holds invalid JSON; fix the value, or leave the column out of json_columns "
                "to send it as text",
            ) from None
    return nested_value(value) if isinstance(value, (dict, list)) else value


def nested_value(value: dict[str, Any] | list[Any]) -> dict[str, Any] | list[Any]:
    """A nested value, if its compact JSON fits the attribute value limit."""
    try:
        size = len(orjson.dumps(value))
    except TypeError as error:
        if "recursion" in str(error).lower():
            raise RowRefused(
                INVALID_VALUE,
                f"holds JSON nested more than {MAX_JSON_DEPTH} levels deep, which cannot be sent; select a flatter "
                "part of it, e.g. with JSON_EXTRACT",
            ) from None
        raise RowRefused(INVALID_VALUE, "holds a nested value that cannot be written as JSON") from None
    if size > MAX_ATTRIBUTE_VALUE_BYTES:
        raise RowRefused(TOO_LARGE, f"is {size} bytes of JSON; the limit is {MAX_ATTRIBUTE_VALUE_BYTES}")
    return value


def string_too_long(value: str) -> bool:
    """Whether a string is over the attribute value limit in UTF-8 bytes (cheap for short strings)."""
    return (
        len(value) * 4 > MAX_ATTRIBUTE_VALUE_BYTES
        and len(value.encode("utf-8", "surrogatepass")) > MAX_ATTRIBUTE_VALUE_BYTES
    )
