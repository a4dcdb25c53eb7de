"""The PostgreSQL type contract (docs/values.md): every type from a real server through a real DagRun."""

from __future__ import annotations

import csv

import pytest

from airflow_provider_cio.operators.postgres import PostgresReverseETLOperator

from .helpers import PostgresSyncDag

pytestmark = pytest.mark.usefixtures("airflow_db")

TYPES = """
CREATE TYPE plan AS ENUM ('free', 'pro');
CREATE TABLE people (
    id bigint PRIMARY KEY, big numeric, small numeric(6, 2), seen timestamp, paid timestamptz, born date,
    active boolean, token uuid, prefs jsonb, raw json, tags text[], scores numeric[], days date[],
    wait interval, tier plan, ip inet, net cidr, ratio double precision, starts time, name text
);
INSERT INTO people VALUES (
    1, 123456789012345678901234567890.0123456789, 0.10, '2024-01-02 03:04:05.999', '2024-07-01 12:00:00+02',
    '2024-01-02', true, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"tabs": [1, 2], "dark": true}',
    '[1, "two", null]', ARRAY['a', 'b'], ARRAY[1.10, 2], ARRAY['1970-01-02'::date],
    '1 year 2 mons 3 days 04:05:06', 'pro', '10.1.2.3', '10.0.0.0/8', 2.5, '13:30:00', 'héllo'
);
INSERT INTO people (id, seen, active, big) VALUES (2, '1969-12-31 23:59:59', false, -0.000000001);
"""


def test_each_postgres_type_reaches_the_workspace_as_docs_values_says(postgres_db, workspace) -> None:
    postgres_db.execute(TYPES)
    run = PostgresSyncDag(PostgresReverseETLOperator, sql="SELECT * FROM people ORDER BY id").run()

    assert run.state == "success", run.report
    people = {p["id"]: p["attributes"] for p in workspace.people()}
    assert people["1"] == {
        "big": "123456789012345678901234567890.0123456789",  # every digit, never a float
        "small": "0.10",  # the scale kept
        "seen": "1704164645",  # timestamp: Unix seconds in timezone (UTC), rounded down
        "paid": "1719828000",  # timestamptz: the moment, whatever the session's zone
        "born": "1704153600",  # date: its midnight
        "active": "true",
        "token": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "prefs": {"tabs": [1, 2], "dark": True},  # jsonb nested without json_columns
        "raw": [1, "two", None],  # json too
        "tags": ["a", "b"],  # arrays nested, their elements by the same rules
        "scores": ["1.10", "2"],
        "days": [86400],
        "wait": "P1Y2M3DT4H5M6S",  # interval: ISO 8601, months kept (not 30-day guesses)
        "tier": "pro",  # enum: its label
        "ip": "10.1.2.3",
        "net": "10.0.0.0/8",
        "ratio": "2.5",
        "starts": "13:30:00",
        "name": "héllo",
    }
    assert people["2"] == {"seen": "-1", "active": "false", "big": "-0.000000001"}


def test_naive_timestamps_and_dates_are_read_in_the_operators_timezone(postgres_db, workspace) -> None:
    postgres_db.execute(
        "CREATE TABLE people (id int, summer timestamp, winter timestamp, day date, moment timestamptz)",
        "INSERT INTO people VALUES (1, '2024-07-01 12:00:00', '2024-01-15 12:00:00', '2024-07-01', "
        "'2024-07-01 12:00:00+00')",
    )
    run = PostgresSyncDag(PostgresReverseETLOperator, sql="SELECT * FROM people", timezone="Europe/Paris").run()

    assert run.state == "success", run.report
    assert workspace.people()[0]["attributes"] == {
        "summer": "1719828000",  # 10:00 UTC
        "winter": "1705316400",  # 11:00 UTC
        "day": "1719784800",  # midnight in Paris = 22:00 UTC the day before
        "moment": "1719835200",  # timestamptz is a moment: the timezone does not apply
    }


def test_bytea_infinite_dates_and_nan_fail_their_rows_with_what_to_do(postgres_db, workspace) -> None:
    postgres_db.execute(
        "CREATE TABLE people (id int, photo bytea, until timestamp, score numeric, plan text)",
        "INSERT INTO people VALUES (1, '\\x0102', NULL, 1, 'a'), (2, NULL, 'infinity', 2, 'b'), "
        "(3, NULL, NULL, 'NaN', 'c'), (4, NULL, '0044-03-15 BC', 4, 'd'), (5, NULL, NULL, 5, 'e')",
    )
    run = PostgresSyncDag(PostgresReverseETLOperator, sql="SELECT * FROM people ORDER BY id").run()

    assert run.state == "failed"
    assert run.report["rows_read"] == 5 and run.report["rows_sent"] == 1 and run.report["rows_failed"] == 4
    assert [p["id"] for p in workspace.people()] == ["5"]
    with open(run.report["error_report"].removeprefix("file://"), newline="") as report:
        rows = {row["identifier"]: row for row in csv.DictReader(report)}
    assert rows["1"]["error_type"] == "binary_value" and "encode(col, 'base64')" in rows["1"]["message"]
    assert rows["2"]["error_type"] == "invalid_value" and "NULLIF(col, 'infinity')" in rows["2"]["message"]
    assert rows["3"]["error_type"] == "invalid_value" and "NaN" in rows["3"]["message"]
    assert rows["4"]["error_type"] == "invalid_value" and "BC" in rows["4"]["message"]
