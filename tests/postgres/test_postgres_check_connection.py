"""``cio-retl check-connection`` on PostgreSQL: superuser, the server-file roles and dblink are each warned
about; a role with SELECT only is not."""

from __future__ import annotations

import pytest

from airflow_provider_cio.cli import main

pytestmark = pytest.mark.usefixtures("airflow_db")


def postgres_role(postgres_db, monkeypatch: pytest.MonkeyPatch, role: str, *grants: str) -> str:
    """Create the login ``role`` with SELECT on ``users`` and ``grants``; return its connection's id."""
    postgres_db.execute(
        f"DROP ROLE IF EXISTS {role}",
        f"CREATE ROLE {role} LOGIN",
        "CREATE TABLE IF NOT EXISTS users (id int)",
        f"GRANT SELECT ON users TO {role}",
        *grants,
    )
    monkeypatch.setenv(f"AIRFLOW_CONN_{role.upper()}", postgres_db.connection_uri(role))
    return role


def warnings(capsys: pytest.CaptureFixture[str], conn_id: str) -> list[str]:
    """The privilege each warning line of ``check-connection`` names (its exit status is 0 whatever it finds)."""
    assert main(["check-connection", "--conn-id", conn_id]) == 0
    out = capsys.readouterr().out
    assert f"PostgreSQL connection '{conn_id}'" in out
    return [line.split(":")[1].strip() for line in out.splitlines() if line.startswith("warning:")]


def test_a_role_in_pg_read_server_files_is_warned_about_it(postgres_db, monkeypatch, capsys) -> None:
    role = postgres_role(postgres_db, monkeypatch, "cio_file_role", "GRANT pg_read_server_files TO cio_file_role")
    assert warnings(capsys, role) == ["pg_read_server_files"]


def test_a_select_only_role_gets_no_warning(postgres_db, monkeypatch, capsys) -> None:
    role = postgres_role(postgres_db, monkeypatch, "cio_select_role")
    assert warnings(capsys, role) == []


def test_a_role_that_can_run_dblink_is_warned_about_it(postgres_db, monkeypatch, capsys) -> None:
    role = postgres_role(postgres_db, monkeypatch, "cio_dblink_role", "CREATE EXTENSION dblink")
    [dblink] = warnings(capsys, role)
    assert dblink.startswith("EXECUTE on dblink, ") and "dblink_exec" in dblink


def test_the_superuser_is_warned_about(postgres_db, capsys) -> None:
    assert warnings(capsys, "postgres_default") == ["superuser"]
