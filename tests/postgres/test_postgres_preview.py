"""``cio-retl preview --postgres-conn-id``: the first rows of a PostgreSQL query as a sync would send them."""

from __future__ import annotations

import pytest

from airflow_provider_cio.cli import main


def preview(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    status = main(["preview", "--postgres-conn-id", "postgres_default", *args])
    return status, capsys.readouterr().out


@pytest.fixture
def users(postgres_db):
    postgres_db.execute(
        "CREATE TABLE users (id text, email text, balance numeric(12, 3), signed_up timestamp, prefs jsonb)",
        "INSERT INTO users VALUES ('1', 'ada@example.com', 12.5, '2025-01-02 03:04:05', '{\"lang\": \"en\"}'), "
        "('2', 'not an email', NULL, NULL, NULL)",
    )
    return postgres_db


def test_a_postgres_query_previews_with_the_postgres_value_rules(capsys, users) -> None:
    status, out = preview(capsys, "--sql", "SELECT id, email, balance, signed_up, prefs FROM users ORDER BY id")

    assert status == 1, out  # row 2 would fail
    assert "Column rules: OK" in out
    assert '"12.500"' in out and "1735787045" in out and '{"lang":"en"}' in out.replace(" ", "")
    assert "invalid_email" in out


def test_a_query_postgres_refuses_names_the_connection(capsys, users) -> None:
    status, out = preview(capsys, "--sql", "SELECT id, nope FROM users")

    assert status == 1
    assert "Query: FAILED on PostgreSQL" in out
    assert "PostgreSQL connection 'postgres_default' failed (UndefinedColumn 42703)" in out
