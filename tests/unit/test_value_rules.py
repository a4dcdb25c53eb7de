"""The value rules (``sync/convert/values.py``, the table at its top) on in-memory values: each database value becomes
what the table says, or fails its row with a named error; nothing a driver can hand over makes the sync raise.

The end-to-end version, from a real MySQL table into the emulator, is ``tests/test_values.py``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import uuid
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.sources.mysql.column_types import (
    MYSQL_BIT,
    MYSQL_DATE,
    MYSQL_DATETIME,
    MYSQL_DECIMAL,
    MYSQL_GEOMETRY,
    MYSQL_JSON,
    MYSQL_TIME,
    MYSQL_TIMESTAMP,
    MYSQL_YEAR,
    driver_converters,
    mysql_column_type,
    mysql_columns,
)
from airflow_provider_cio.sync.account.outcomes import (
    BINARY_VALUE,
    INVALID_VALUE,
    TOO_LARGE,
    RowError,
    RowRefused,
)
from airflow_provider_cio.sync.convert.values import (
    InvalidDate,
    Unsendable,
    ValueRules,
    string_too_long,
    utc_text_seconds,
)
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.records.kinds import plan_columns
from airflow_provider_cio.sync.records.ops import EmptyValues, PeopleOps

LONGLONG, VAR_STRING = 8, 253
PARIS = "Europe/Paris"
NAMED_ERRORS = {INVALID_VALUE, TOO_LARGE, BINARY_VALUE, "unsendable_value"}
"""The error types a value can fail its row with (the last one: what the test's ``Unsendable`` values say)."""


def converted(value: Any, type_code: Any = None, *, is_json: bool = False, timezone: str = "UTC") -> Any:
    return ValueRules(timezone).for_column("json" if is_json else mysql_column_type(type_code))(value)


def refusal(value: Any, type_code: Any = None, *, is_json: bool = False) -> str:
    with pytest.raises(RowRefused) as refused:
        converted(value, type_code, is_json=is_json)
    return refused.value.error_type


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1234.50"), "1234.50"),
        (Decimal("12345678901234567890.123456789"), "12345678901234567890.123456789"),
        (Decimal("1E-8"), "0.00000001"),
        (Decimal("-0.000"), "-0.000"),
        (1.5, 1.5),
        (True, True),
        (dt.datetime(2024, 1, 2, 3, 4, 5), 1704164645),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 999_999), 1704164645),
        (dt.datetime(1969, 12, 31, 23, 59, 59, 500_000), -1),
        (dt.datetime(2024, 1, 2, 4, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))), 1704164645),
        (dt.date(2024, 1, 2), 1704153600),
        (dt.timedelta(hours=838, minutes=59, seconds=59), "838:59:59"),
        (-dt.timedelta(hours=1, microseconds=5), "-01:00:00.000005"),
        (dt.timedelta(0), "00:00:00"),
        (dt.time(7, 8, 9), "07:08:09"),
        ({"b", "a", "c"}, "a,b,c"),
        (frozenset(), ""),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        ({"plan": {"seats": [1, 2]}}, {"plan": {"seats": [1, 2]}}),
        ([1, "x", None], [1, "x", None]),
    ],
    ids=repr,
)
def test_each_type_becomes_what_the_table_says(value: Any, expected: Any) -> None:
    assert converted(value) == expected
    assert type(converted(value)) is type(expected)


@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        (float("nan"), INVALID_VALUE),
        (float("-inf"), INVALID_VALUE),
        (Decimal("NaN"), INVALID_VALUE),
        (Decimal("sNaN"), INVALID_VALUE),
        (Decimal("Infinity"), INVALID_VALUE),
        (b"\x00\x01", BINARY_VALUE),
        (bytearray(b"x"), BINARY_VALUE),
        (memoryview(b"x"), BINARY_VALUE),
        (InvalidDate("0000-00-00"), INVALID_VALUE),
        (Unsendable("unsendable_value", "holds a bytea; use encode(col, 'hex')"), "unsendable_value"),
        (complex(1, 2), INVALID_VALUE),
        (object(), INVALID_VALUE),
        ({"a": "x" * 1000}, TOO_LARGE),
        ({1: "a non-text key"}, INVALID_VALUE),
        (["x" * 997], TOO_LARGE),
    ],
    ids=repr,
)
def test_values_the_workspace_cannot_take_fail_their_row_with_a_named_error(value: Any, error_type: str) -> None:
    assert refusal(value) == error_type


@pytest.mark.parametrize(
    ("value", "type_code"), [({"token": "s3cr3t" * 200}, None), (b"s3cr3t", None), ("{s3cr3t", MYSQL_JSON)]
)
def test_a_refusal_never_shows_the_value(value: Any, type_code: Any) -> None:
    with pytest.raises(RowRefused) as refused:
        converted(value, type_code)
    assert "s3cr3t" not in refused.value.message


def test_a_nested_value_of_exactly_1000_bytes_of_json_is_sent() -> None:
    assert converted(["x" * 996]) == ["x" * 996]


def test_json_nested_deeper_than_the_encoder_can_write_is_refused_not_raised() -> None:
    deep: list[Any] = []
    for _ in range(300):
        deep = [deep]
    assert refusal(deep) == INVALID_VALUE
    assert refusal("[" * 300 + "]" * 300, is_json=True) == INVALID_VALUE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": [1, 2]}', {"a": [1, 2]}),
        (b'["x"]', ["x"]),
        ("5", 5),
        ('"text"', "text"),
        ("null", None),
    ],
)
def test_a_json_column_sends_the_value_its_text_holds(text: str | bytes, expected: Any) -> None:
    assert converted(text, is_json=True) == expected
    assert converted(text, MYSQL_JSON) == expected


def test_a_json_column_with_invalid_json_fails_the_row() -> None:
    assert refusal("{not json", is_json=True) == INVALID_VALUE
    assert refusal(b"\xff", MYSQL_JSON) == INVALID_VALUE


def test_naive_dates_are_read_in_the_syncs_time_zone_and_timestamps_always_in_utc() -> None:
    winter, summer = dt.datetime(2024, 1, 15, 12, 0), dt.datetime(2024, 7, 15, 12, 0)
    utc_winter, utc_summer = converted(winter), converted(summer)
    assert converted(winter, MYSQL_DATETIME, timezone=PARIS) == utc_winter - 3600
    assert converted(summer, timezone=PARIS) == utc_summer - 7200
    assert converted(dt.date(2024, 7, 15), MYSQL_DATE, timezone=PARIS) == converted(dt.date(2024, 7, 15)) - 7200
    assert converted(winter, MYSQL_TIMESTAMP, timezone=PARIS) == utc_winter, "a TIMESTAMP is a point in time"
    aware = winter.replace(tzinfo=dt.timezone.utc)
    assert converted(aware, timezone=PARIS) == utc_winter, "an aware value keeps its own zone"


def test_year_bit_and_geometry_columns() -> None:
    assert converted(2024, MYSQL_YEAR) == "2024"
    assert converted(b"\x01\x00", MYSQL_BIT) == 256
    assert converted(1, MYSQL_BIT) == 1
    assert refusal(b"\x00\x00\x00\x00\x01\x01", MYSQL_GEOMETRY) == BINARY_VALUE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02 03:04:05", 1704164645),
        ("2024-01-02 03:04:05.999999", 1704164645),
        (b"2024-01-02", 1704153600),
        ("1000-01-01 00:00:00", -30610224000),
        ("9999-12-31 23:59:59", 253402300799),
    ],
)
def test_the_text_protocol_converters_give_unix_seconds(text: str | bytes, expected: int) -> None:
    assert utc_text_seconds(text) == expected
    converters = driver_converters(ValueRules().text_converters())
    assert converters[MYSQL_DATETIME](text) == converters[MYSQL_TIMESTAMP](text) == expected


@pytest.mark.parametrize("text", ["0000-00-00 00:00:00", "2024-00-10", "2024-02-30", b"0000-00-00"])
def test_zero_and_partial_dates_become_invalid_dates_then_row_errors(text: str | bytes) -> None:
    for rules in (ValueRules(), ValueRules(PARIS)):
        value = driver_converters(rules.text_converters())[MYSQL_DATETIME](text)
        assert isinstance(value, InvalidDate)
        assert refusal(value) == INVALID_VALUE


def test_decimals_times_and_years_arrive_as_the_exact_text_mysql_sent() -> None:
    converters = driver_converters(ValueRules().text_converters())
    assert converters[MYSQL_DECIMAL](b"0.10") == "0.10"
    assert converters[MYSQL_TIME]("-838:59:59.000000") == "-838:59:59.000000"
    assert converters[MYSQL_YEAR](b"2024") == "2024"


def test_strings_are_measured_in_utf8_bytes() -> None:
    assert not string_too_long("x" * 1000)
    assert string_too_long("x" * 1001)
    assert not string_too_long("€" * 333)  # 999 bytes
    assert string_too_long("€" * 334)
    assert not string_too_long("\U0001f600" * 250)  # 1000 bytes
    assert string_too_long("\U0001f600" * 250 + "x")


# --- the contract: every value converts by the rules, or fails its row with a named error, never raises ------


def person_builder(type_code: Any, is_json: bool, empty_values: EmptyValues, timezone: str) -> PeopleOps:
    columns = mysql_columns([("id", LONGLONG), ("v", type_code)])
    plan = plan_columns(columns, "people", json_columns=["v"] if is_json else (), values=ValueRules(timezone))
    return PeopleOps(plan, empty_values)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["x" * 300, "\u00e9" * 200]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)
any_value = st.one_of(
    st.none(),
    st.just(""),
    st.text(max_size=40),
    st.text(min_size=240, max_size=400),
    st.just("a lone surrogate \ud800"),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals().filter(lambda d: not d.is_finite() or len(f"{d:f}") <= 67),  # DECIMAL(65) and its sign, point
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.timezones()),
    st.dates(),
    st.times(),
    st.timedeltas(min_value=dt.timedelta(hours=-839), max_value=dt.timedelta(hours=839)),
    st.binary(max_size=8),
    st.binary(max_size=8).map(bytearray),
    st.frozensets(st.text(max_size=8), max_size=6),
    st.uuids(),
    json_values,
    st.builds(InvalidDate, st.just("0000-00-00")),
    st.just(Unsendable("unsendable_value", "holds a bytea")),
    st.builds(object),
    st.complex_numbers(),
)


def by_the_rules(value: Any, type_code: Any, timezone: str) -> Any:
    """What the table at the top of ``sync/convert/values.py`` says a value of a non-JSON column becomes, written
    independently of the code (``calendar``, ``zoneinfo``); raises ``RowRefused`` for what it refuses."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**64:
            raise RowRefused(INVALID_VALUE, "JSON cannot hold it")
        return value
    if isinstance(value, str):
        if len(value.encode("utf-8", "surrogatepass")) > 1000:
            raise RowRefused(TOO_LARGE, "over 1000 bytes")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RowRefused(INVALID_VALUE, "NaN")
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise RowRefused(INVALID_VALUE, "NaN")
        return f"{value:f}"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            zone = dt.timezone.utc if type_code == MYSQL_TIMESTAMP or timezone == "UTC" else ZoneInfo(timezone)
            value = value.replace(tzinfo=zone)
        return calendar.timegm(value.utctimetuple())
    if isinstance(value, dt.date):
        return by_the_rules(dt.datetime(value.year, value.month, value.day), None, timezone)
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        micros = value // dt.timedelta(microseconds=1)
        whole, fraction = divmod(abs(micros), 1_000_000)
        text = f"{'-' if micros < 0 else ''}{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
        return f"{text}.{fraction:06d}" if fraction else text
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise RowRefused(BINARY_VALUE, "binary")
    if isinstance(value, (set, frozenset)):
        return ",".join(sorted(value))
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (dict, list)):
        if len(orjson.dumps(value)) > 1000:
            raise RowRefused(TOO_LARGE, "over 1000 bytes")
        return value
    if isinstance(value, InvalidDate):
        raise RowRefused(INVALID_VALUE, "zero date")
    if isinstance(value, Unsendable):
        raise RowRefused(value.error_type, value.message)
    raise RowRefused(INVALID_VALUE, "a type the sync does not send")


def writable(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True


def is_empty(value: Any) -> bool:
    return value is None or value == ""


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=any_value,
    type_code=st.sampled_from([VAR_STRING, MYSQL_DECIMAL, MYSQL_DATETIME, MYSQL_TIMESTAMP, MYSQL_DATE]),
    empty_values=st.sampled_from(["ignore", "delete"]),
    timezone=st.sampled_from(["UTC", PARIS]),
)
def test_every_value_converts_by_the_rules_or_fails_its_row_by_name(
    value: Any, type_code: int, empty_values: EmptyValues, timezone: str
) -> None:
    builder = person_builder(type_code, False, empty_values, timezone)

    (outcome,) = [*builder.build([(7, value)], 1), *builder.finish()]  # never raises

    if is_empty(value):
        assert isinstance(outcome, Op)
        assert orjson.loads(outcome.body)["attributes"] == ({"v": None} if empty_values == "delete" else {})
        return
    try:
        expected = by_the_rules(value, type_code, timezone)
    except RowRefused as refused:
        assert isinstance(outcome, RowError), f"{value!r} should fail its row ({refused.error_type})"
        assert (outcome.row_number, outcome.identifier, outcome.error_type) == (1, "7", refused.error_type)
        assert outcome.error_type in NAMED_ERRORS
        if not isinstance(value, int):  # an integer JSON cannot hold is refused with the whole op, unnamed
            assert "column 'v'" in outcome.message, "the error report names the column"
        return
    if isinstance(outcome, RowError):  # only what JSON cannot write: a lone surrogate in a text
        assert outcome.error_type == INVALID_VALUE and not writable(expected)
        return
    assert isinstance(outcome, Op) and outcome.identifier == "7"
    assert orjson.loads(outcome.body)["attributes"] == {"v": orjson.loads(orjson.dumps(expected))}


@settings(max_examples=200)
@given(
    value=st.one_of(
        json_values.map(lambda v: orjson.dumps(v).decode()),
        # bytes: a driver hands them for a BLOB column named in json_columns (b"null" is empty, as the text is)
        json_values.map(orjson.dumps),
        st.text(max_size=30),
        json_values,
        st.binary(max_size=10),
    ),
    empty_values=st.sampled_from(["ignore", "delete"]),
)
def test_a_json_column_sends_the_nested_value_or_fails_the_row_by_name(value: Any, empty_values: EmptyValues) -> None:
    builder = person_builder(VAR_STRING, True, empty_values, "UTC")

    (outcome,) = list(builder.build([(7, value)], 1))

    try:
        parsed = orjson.loads(value) if isinstance(value, (str, bytes)) and value != "" else value
    except orjson.JSONDecodeError:
        assert isinstance(outcome, RowError) and outcome.error_type == INVALID_VALUE
        return
    if isinstance(parsed, (dict, list)) and len(orjson.dumps(parsed)) > 1000:
        assert isinstance(outcome, RowError) and outcome.error_type == TOO_LARGE
        return
    assert isinstance(outcome, Op)
    attributes = orjson.loads(outcome.body)["attributes"]
    if parsed is None or value == "":
        assert attributes == ({"v": None} if empty_values == "delete" else {})
    else:
        assert attributes == {"v": parsed}
