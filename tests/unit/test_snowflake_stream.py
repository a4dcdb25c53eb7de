"""The Snowflake source's parts that fakesnow cannot show: a result of several Arrow batches read one batch at
a time, the query cancelled by its id, and the Arrow shapes real Snowflake sends and fakesnow does not (wide
integers as decimals, time zones other than UTC, nanoseconds). The connection is a small fake; everything
else (the stream, the Arrow conversion, pyarrow, the connector's metadata and errors) is real.
"""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from snowflake.connector.constants import FIELD_TYPES
from snowflake.connector.cursor import ResultMetadata
from snowflake.connector.errors import OperationalError, ProgrammingError

from airflow_provider_cio.sources.registry import SOURCES, SourceOptions
from airflow_provider_cio.sources.snowflake import column_types
from airflow_provider_cio.sources.snowflake.arrow_values import ArrowValues
from airflow_provider_cio.sources.snowflake.column_types import snowflake_columns
from airflow_provider_cio.sources.snowflake.errors import (
    is_snowflake_connection_error,
    is_snowflake_error,
    snowflake_message,
)
from airflow_provider_cio.sources.snowflake.source import SnowflakeSource
from airflow_provider_cio.sources.snowflake.stream import CANCEL_QUERY, SnowflakeQueryStream
from airflow_provider_cio.sync.blocks import Block
from airflow_provider_cio.sync.convert.column_types import SourceColumn
from airflow_provider_cio.sync.convert.values import ValueRules

QUERY_ID = "01b2c3d4-0000-0001-0000-000000000001"
ID_COLUMN = ResultMetadata("id", 0, None, None, 38, 0, True)


class FakeConnection:
    """A connector connection whose one query returns ``tables``; counts the batches pulled, records the
    statements run beside it (the cancel), and can hold the wait for the result until the query is cancelled."""

    def __init__(self, tables: list[pa.Table], *, wait_for_cancel: bool = False, hold_submit: bool = False) -> None:
        self.tables = tables
        self.pulls = 0
        self.statements: list[tuple[str, Any]] = []
        self.closed = False
        self.submitted = threading.Event()
        self.cancelled = threading.Event()
        self.wait_for_cancel = wait_for_cancel
        self.hold_submit = hold_submit
        self.submitting = threading.Event()
        self.release = threading.Event()

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def close(self) -> None:
        self.closed = True

    def batches(self) -> Iterator[pa.Table]:
        for table in self.tables:
            self.pulls += 1
            yield table


class FakeCursor:
    description = [ID_COLUMN]

    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection
        self.sfqid: str | None = None

    def execute_async(self, sql: str) -> None:
        self.connection.submitting.set()
        if self.connection.hold_submit:
            self.connection.release.wait(30)
        self.sfqid = QUERY_ID
        self.connection.submitted.set()

    def get_results_from_sfqid(self, query_id: str) -> None:
        if self.connection.wait_for_cancel:
            self.connection.cancelled.wait(30)
            raise ProgrammingError(msg="SQL execution canceled", errno=604, sqlstate="57014")

    def fetch_arrow_batches(self) -> Iterator[pa.Table]:
        return self.connection.batches()

    def execute(self, sql: str, params: Any = None) -> None:
        self.connection.statements.append((sql, params))
        if sql == CANCEL_QUERY:
            self.connection.cancelled.set()

    def close(self) -> None:
        pass


def ids(start: int, count: int) -> pa.Table:
    return pa.table({"id": pa.array(range(start, start + count), pa.int64())})


def stream_on(connection: FakeConnection) -> SnowflakeQueryStream:
    return SnowflakeQueryStream(lambda: connection, "Snowflake connection 'wh'")


def test_batches_are_pulled_one_at_a_time_as_blocks_are_asked_for() -> None:
    connection = FakeConnection([ids(1, 3), ids(4, 3), ids(7, 3)])
    stream = stream_on(connection)
    cursor = stream.execute("SELECT id FROM people")
    assert connection.pulls == 0  # nothing read before the sync asks

    pulled = []
    blocks = []
    for _ in range(6):
        blocks.append(cursor.fetchmany(2))
        pulled.append(connection.pulls)
    stream.close(finished=True)

    assert pulled == [1, 2, 2, 3, 3, 3]
    assert all(isinstance(block, Block) for block in blocks[:5]) and blocks[5] == []
    assert [block.columns[0] for block in blocks[:5]] == [[1, 2], [3, 4], [5, 6], [7, 8], [9]]
    assert connection.statements == [] and connection.closed  # read to the end: nothing to cancel


def test_stopping_early_cancels_the_query_by_its_id() -> None:
    connection = FakeConnection([ids(1, 3), ids(4, 3)])
    stream = stream_on(connection)
    cursor = stream.execute("SELECT id FROM people")
    cursor.fetchmany(2)

    stream.close(finished=False)

    assert connection.statements == [(CANCEL_QUERY, (QUERY_ID,))]
    assert connection.closed and connection.pulls == 1


def test_a_cancel_from_another_thread_ends_the_wait_for_the_result() -> None:
    """As on a kill or an ``execution_timeout``: the task's thread cancels while the call thread waits for the
    query to finish; Snowflake ends the query and the wait with it."""
    connection = FakeConnection([ids(1, 3)], wait_for_cancel=True)
    stream = stream_on(connection)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            stream.execute("SELECT id FROM people")
        except ProgrammingError as error:
            errors.append(error)

    runner = threading.Thread(target=run)
    runner.start()
    assert connection.submitted.wait(30)
    stream.cancel()
    runner.join(30)
    stream.close(finished=False)

    assert [error.errno for error in errors] == [604]
    assert connection.statements[0] == (CANCEL_QUERY, (QUERY_ID,))


def test_a_query_submitted_while_the_caller_was_interrupted_is_cancelled() -> None:
    """A signal (the task's timeout, a kill) interrupts the task's thread while the query is being submitted;
    the submission ends in the call thread, and closing the stream cancels the query it submitted."""
    connection = FakeConnection([ids(1, 3)], hold_submit=True)
    stream = stream_on(connection)
    main = threading.get_ident()

    def interrupt(signum: int, frame: Any) -> None:
        raise TimeoutError

    def send_signal() -> None:
        if connection.submitting.wait(30):
            signal.pthread_kill(main, signal.SIGALRM)

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        threading.Thread(target=send_signal).start()
        with pytest.raises(TimeoutError):
            stream.execute("SELECT id FROM people")
    finally:
        signal.signal(signal.SIGALRM, previous)
    connection.release.set()
    stream.close(finished=False)

    assert connection.statements == [(CANCEL_QUERY, (QUERY_ID,))]
    assert connection.closed


def test_a_write_is_refused_before_connecting() -> None:
    connection = FakeConnection([])
    stream = stream_on(connection)

    with pytest.raises(ValueError, match=r"only runs queries that read .*\(Snowflake connection 'wh'\)"):
        stream.execute("DELETE FROM people")
    stream.close(finished=False)
    assert connection.statements == [] and not connection.closed  # never connected


def test_the_type_codes_are_the_connectors() -> None:
    """The module's codes are the positions of the connector's FIELD_TYPES, by name."""
    names = [field.name for field in FIELD_TYPES]
    for name in ("FIXED", "REAL", "TEXT", "DATE", "TIMESTAMP", "VARIANT", "TIMESTAMP_LTZ", "TIMESTAMP_TZ"):
        assert names.index(name) == getattr(column_types, name)
    for name in ("TIMESTAMP_NTZ", "OBJECT", "ARRAY", "BINARY", "TIME", "BOOLEAN", "GEOGRAPHY", "GEOMETRY", "VECTOR"):
        assert names.index(name) == getattr(column_types, name)
    assert names.index("MAP") == column_types.MAP


def test_columns_in_neutral_types() -> None:
    """NUMBER is an integer at scale 0 and a decimal otherwise; BOOLEAN (13, MySQL's YEAR) is a boolean; ARRAY
    (10, MySQL's DATE) is JSON."""
    description = [
        ResultMetadata(name, code, None, None, None, scale, True)
        for name, code, scale in (
            ("id", 0, 0),
            ("balance", 0, 10),
            ("active", 13, None),
            ("tags", 10, None),
            ("seen", 8, 9),
            ("seen_ltz", 6, 9),
            ("avatar", 11, None),
        )
    ]
    assert [(column.name, column.type) for column in snowflake_columns(description)] == [
        ("id", "integer"),
        ("balance", "decimal"),
        ("active", "boolean"),
        ("tags", "json"),
        ("seen", "datetime"),
        ("seen_ltz", "instant"),
        ("avatar", "binary"),
    ]


def convert(column_type: str, array: pa.Array, timezone: str = "UTC") -> list[Any]:
    (values,) = ArrowValues([SourceColumn("c", column_type)], ValueRules(timezone)).columns([pa.table({"c": array})])
    return values


NAIVE = [
    dt.datetime(2024, 1, 2, 3, 4, 5, 999999),
    dt.datetime(1969, 12, 31, 23, 59, 59, 500000),
    dt.datetime(2024, 11, 3, 1, 30),  # twice in New York (DST ends)
    dt.datetime(2024, 3, 10, 2, 30),  # never in New York (DST starts)
    None,
]


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_naive_timestamps_are_read_as_the_value_rules_read_a_datetime(timezone: str, unit: str) -> None:
    rules = ValueRules(timezone)
    expected = [None if value is None else rules.datetime_seconds(value.replace(microsecond=0)) for value in NAIVE]

    assert convert("datetime", pa.array(NAIVE, pa.timestamp(unit)), timezone) == expected


@pytest.mark.parametrize("zone", ["UTC", "Europe/Oslo", "America/Los_Angeles"])
def test_aware_timestamps_are_points_in_time_whatever_the_sync_time_zone(zone: str) -> None:
    utc = [dt.datetime(2024, 1, 2, 3, 4, 5, 900000, tzinfo=dt.timezone.utc), None]
    array = pa.array(utc, pa.timestamp("ns", tz=zone))

    assert convert("instant", array, "America/New_York") == [1704164645, None]


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
def test_dates_are_unix_seconds_of_their_midnight(timezone: str) -> None:
    dates = [dt.date(1990, 7, 8), dt.date(1969, 12, 31), None]
    rules = ValueRules(timezone)
    expected = [None if value is None else rules.date_seconds(value) for value in dates]

    assert convert("date", pa.array(dates, pa.date32()), timezone) == expected
    assert convert("date", pa.array(dates, pa.date64()), timezone) == expected


def test_wide_integers_keep_every_digit() -> None:
    wide = [Decimal("12345678901234567890123456789012345678"), Decimal(-1), None]

    values = convert("integer", pa.array(wide, pa.decimal128(38, 0)))

    assert values == [12345678901234567890123456789012345678, -1, None]
    assert all(type(value) is int for value in values[:2])


def test_times_drop_nanoseconds() -> None:
    array = pa.array([86_399_999_999_999, None], pa.time64("ns"))

    assert convert("time", array) == [dt.time(23, 59, 59, 999999), None]


def test_errors_name_the_connection_and_whether_a_retry_may_help() -> None:
    missing = ProgrammingError(msg="Object 'PEOPLE' does not exist or not authorized.", errno=2003, sqlstate="42S02")
    unreachable = OperationalError(msg="Failed to connect to DB", errno=250001, sqlstate="08001")
    wrong_password = OperationalError(
        msg="Incorrect username or password was specified.", errno=390100, sqlstate="08001"
    )

    assert all(is_snowflake_error(error) for error in (missing, unreachable, wrong_password))
    assert not is_snowflake_error(ValueError("x"))
    assert snowflake_message(missing, "wh").startswith("Snowflake connection 'wh' failed (ProgrammingError): 002003")
    assert "grant the connection's role USAGE" in snowflake_message(missing, "wh")
    assert [is_snowflake_connection_error(e) for e in (missing, unreachable, wrong_password)] == [False, True, False]


def test_a_missing_snowflake_provider_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``apache-airflow-providers-snowflake`` (hidden from imports here) the source says what to install."""
    monkeypatch.setitem(sys.modules, "airflow.providers.snowflake.hooks.snowflake", None)

    for make in (
        lambda: SnowflakeSource.for_connection("wh"),
        lambda: SOURCES["snowflake"]("wh", "snowflake", SourceOptions()),
    ):
        with pytest.raises(
            ValueError,
            match=r"connection 'wh' is a Snowflake connection.*pip install 'airflow-provider-cio\[snowflake\]'",
        ):
            make()
