"""The engine plans and converts columns by their neutral types only (``sync/convert/column_types.py``).

Issue 23 found that a driver's type codes reaching the engine were read as MySQL's: Snowflake's BOOLEAN
(type code 13, MySQL's ``YEAR``) was sent as ``"True"``, its ARRAY (10, MySQL's ``DATE``, JSON text) failed
every row as a zero date. Each source now describes its columns in neutral types, and those never collide.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson
import pytest

from airflow_provider_cio.sources.mysql.column_types import mysql_columns
from airflow_provider_cio.sources.postgres.column_types import postgres_column_type
from airflow_provider_cio.sync.account.outcomes import BINARY_VALUE, RowError
from airflow_provider_cio.sync.convert.column_types import COLUMN_TYPES, ColumnType, SourceColumn
from airflow_provider_cio.sync.convert.server_text import RawColumns
from airflow_provider_cio.sync.convert.values import ValueRules
from airflow_provider_cio.sync.planning import SyncPlanner
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.settings import SyncSettings

SNOWFLAKE_BOOLEAN, SNOWFLAKE_ARRAY = 13, 10
"""Snowflake connector type codes: the same numbers as MySQL's ``YEAR`` and ``DATE``."""


def sent(column: SourceColumn, value: Any) -> Any:
    """What the sync sends for ``value`` in ``column`` of a people query (the row error if it fails): through
    the planner's column plan and builder, raw text conversion included, as a sync builds its ops."""
    planner = SyncPlanner(SyncSettings(import_type="people"))
    columns = [SourceColumn("id", "integer"), column]
    builder = planner.builder(planner.columns(columns), columns)
    (outcome,) = [*builder.build([(1, value)], 1), *builder.finish()]
    if isinstance(outcome, RowError):
        return outcome
    assert isinstance(outcome, Op)
    return orjson.loads(outcome.body)["attributes"]["v"]


def test_a_boolean_column_is_sent_as_a_json_boolean_whatever_its_drivers_type_code() -> None:
    assert sent(SourceColumn("v", "boolean", "BOOLEAN"), True) is True
    assert sent(SourceColumn("v", "boolean", "BOOLEAN"), False) is False


@pytest.mark.parametrize("server_text", [False, True], ids=["driver objects", "offered as server text"])
def test_a_list_column_is_sent_nested_never_read_as_a_date(server_text: bool) -> None:
    assert sent(SourceColumn("v", "json", "ARRAY", server_text), '["gold", 2]') == ["gold", 2]
    assert sent(SourceColumn("v", "nested", "ARRAY", server_text), ["gold", 2]) == ["gold", 2]
    assert sent(SourceColumn("v", "nested", "OBJECT", server_text), {"plan": "pro"}) == {"plan": "pro"}


NATURAL_VALUES: dict[ColumnType, tuple[Any, Any]] = {
    "integer": (b"\x01\x00", 256),
    "decimal": (Decimal("0.10"), "0.10"),
    "float": (2.5, 2.5),
    "boolean": (True, True),
    "text": ("héllo", "héllo"),
    "date": (dt.date(2024, 1, 2), 1704153600),
    "datetime": (dt.datetime(2024, 1, 2, 3, 4, 5), 1704164645),
    "instant": (dt.datetime(2024, 7, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))), 1719828000),
    "time": (dt.timedelta(hours=-838, minutes=-59), "-838:59:00"),
    "year": (b"2024", "2024"),  # as MySQL's raw read hands it over
    "json": ('{"tabs": [1, 2]}', {"tabs": [1, 2]}),
    "nested": ({"tabs": [1, 2]}, {"tabs": [1, 2]}),
    "binary": (b"\x00\x01", BINARY_VALUE),
    "other": (dt.date(2024, 1, 2), 1704153600),
}
"""For each neutral type, a value its drivers hand over, and what the workspace gets (or the row error)."""


@pytest.mark.parametrize("column_type", COLUMN_TYPES)
def test_each_neutral_type_sends_its_values_by_the_contract(column_type: ColumnType) -> None:
    value, expected = NATURAL_VALUES[column_type]
    outcome = sent(SourceColumn("v", column_type, server_text=column_type == "year"), value)
    assert (outcome.error_type if isinstance(outcome, RowError) else outcome) == expected


def test_a_drivers_type_code_means_its_own_sources_type_only() -> None:
    """MySQL's 13 and 10 are YEAR and DATE inside the MySQL source; PostgreSQL's 16 is a boolean, MySQL's BIT."""
    year, date = mysql_columns([("y", SNOWFLAKE_BOOLEAN), ("d", SNOWFLAKE_ARRAY)])
    assert (year.type, date.type) == ("year", "date")
    assert postgres_column_type(16) == ("boolean", "boolean")
    assert mysql_columns([("b", 16)])[0].type == "integer"


def test_a_cursor_that_does_not_describe_its_columns_is_converted_by_python_type() -> None:
    """A DB-API ``description`` row's type code is never read: 13 is not a year, so True stays a boolean."""
    planner = SyncPlanner(SyncSettings(import_type="people"))
    plan = planner.columns([("id", 8), ("v", SNOWFLAKE_BOOLEAN)])  # type: ignore[list-item]
    (attribute,) = plan.attributes
    assert attribute.convert(True) is True


def test_only_the_columns_a_source_left_as_server_text_are_converted_from_text() -> None:
    """A source whose driver hands dates over as objects or already converted (PostgreSQL's loaders) is left
    alone; a date the source left as the server's bytes (MySQL's raw reads) becomes Unix seconds."""
    columns = [SourceColumn("id", "integer"), SourceColumn("a", "date"), SourceColumn("b", "date", server_text=True)]
    raw = RawColumns.for_columns(columns, ValueRules())
    assert raw is not None and list(raw.converters) == [2]
    assert raw.columns([(1, "2024-01-02", b"2024-01-02")]) == [(1,), ("2024-01-02",), [1704153600]]
