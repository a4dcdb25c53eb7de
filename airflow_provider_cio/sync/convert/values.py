"""How a database value becomes an attribute value in the workspace. One place for every rule.

======================  =============================================================================
Database value          Sent to the workspace
======================  =============================================================================
integer                 the integer (``BIGINT UNSIGNED`` included)
``DECIMAL``             a string with every digit (``"1234.50"``): JSON numbers would be read as
                        floats and lose digits; the workspace stores attributes as strings anyway
``FLOAT``/``DOUBLE``    the number; ``NaN`` and infinities are a row error
``DATETIME``            Unix seconds (an integer, rounded down), read in the sync's ``timezone``
                        (default UTC)
``TIMESTAMP``           Unix seconds of the point in time it holds, whatever ``timezone`` says (the
                        operators set the MySQL session time zone to UTC, so it arrives in UTC)
``DATE``                Unix seconds of its midnight in ``timezone``
``TIME``                a string ``"[-]HH:MM:SS[.ffffff]"`` (it is a duration, not a point in time)
``YEAR``                a string (``"2024"``)
``BIT``                 an integer
``JSON``                the nested value (objects and arrays); invalid JSON is a row error
strings, ``ENUM``,      the string
``SET``
``NULL`` or ``''``      ``empty_values="ignore"``: the attribute is left out (the workspace keeps what
                        it has); ``"delete"``: sent as ``null``, which removes it
binary, ``GEOMETRY``    a row error: convert it in the query (``HEX(col)``, ``ST_AsText(col)``)
======================  =============================================================================

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
from airflow_provider_cio.sync.limits import MAX_ATTRIBUTE_VALUE_BYTES

Converter = Callable[[Any], Any]

# MySQL protocol type codes (as in MySQLdb.constants.FIELD_TYPE); other DB-API drivers use other codes,
# and their columns are converted by the Python type of each value.
MYSQL_DECIMAL = 0
MYSQL_TIMESTAMP = 7
MYSQL_DATE = 10
MYSQL_TIME = 11
MYSQL_DATETIME = 12
MYSQL_YEAR = 13
MYSQL_NEWDATE = 14
MYSQL_BIT = 16
MYSQL_JSON = 245
MYSQL_NEWDECIMAL = 246
MYSQL_GEOMETRY = 255
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

    def text_converters(self) -> dict[int, Callable[[str], Any]]:
        """Converters for MySQL's text protocol, for the driver to apply as it reads each value.

        With them ``DATETIME``/``TIMESTAMP``/``DATE`` arrive as Unix seconds and ``DECIMAL``, ``TIME``
        and ``YEAR`` as the exact text MySQL sent, so the hot path only sees integers and strings and no
        ``Decimal`` object is ever built. The result is the same as converting the driver's default
        objects (:meth:`by_python_type`), only faster.
        """
        naive = utc_text_seconds if self.timezone is UTC else self.zoned_text_seconds
        return {
            MYSQL_DATETIME: naive,
            MYSQL_TIMESTAMP: utc_text_seconds,
            MYSQL_DATE: naive,
            MYSQL_NEWDATE: naive,
            MYSQL_DECIMAL: text,
            MYSQL_NEWDECIMAL: text,
            MYSQL_TIME: text,
            MYSQL_YEAR: text,
        }

    def zoned_text_seconds(self, value: str | bytes) -> int | InvalidDate:
        """A naive ``DATETIME``/``DATE`` text read in the sync's time zone, as Unix seconds."""
        try:
            return self.datetime_seconds(parse_datetime(text(value)[:19]))
        except ValueError:
            return InvalidDate(text(value))

    def for_column(self, type_code: Any, is_json: bool) -> Converter:
        """The converter for a column, from its DB-API ``type_code`` and whether it holds JSON.

        Strings and integers never reach a converter: the op builders keep them as they are (checking
        only the size of strings). A converter raises :class:`RowRefused` for a value it cannot send.
        """
        if is_json or type_code == MYSQL_JSON:
            return json_value
        if type_code == MYSQL_YEAR:
            return str
        if type_code == MYSQL_TIMESTAMP:
            return self.by_python_type_in_utc
        if type_code == MYSQL_BIT:
            return bit_number
        if type_code == MYSQL_GEOMETRY:
            return refuse_binary
        return self.by_python_type

    def by_python_type(self, value: Any) -> Any:
        """Convert a value by its Python type (any DB-API driver)."""
        convert = self._by_type.get(type(value))
        if convert is None:
            convert = next((c for t, c in self._by_type.items() if isinstance(value, t)), unrepresentable)
        return convert(value)

    def by_python_type_in_utc(self, value: Any) -> Any:
        """A ``TIMESTAMP`` column's value: a naive datetime is read in UTC (the session time zone)."""
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


def bit_number(value: Any) -> int:
    """A ``BIT(n)`` column (bytes from MySQL drivers) as an integer."""
    if isinstance(value, (bytes, bytearray)):
        return int.from_bytes(value, "big")
    return int(value)


def set_string(value: set[Any] | frozenset[Any]) -> str:
    """A ``SET`` value as MySQL writes it: members joined by commas, sorted."""
    return ",".join(sorted(str(member) for member in value))


def refuse_binary(value: Any) -> Any:
    """Binary data is never sent: it would be mangled by any text encoding."""
    raise RowRefused(
        BINARY_VALUE, "holds binary data; convert it in the query, e.g. HEX(col), TO_BASE64(col) or ST_AsText(col)"
    )


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
