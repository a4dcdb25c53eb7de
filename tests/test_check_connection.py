"""``cio-retl check-connection``: a warning for each privilege of a MySQL user that the sync's guards cannot
contain (FILE, SUPER), none for a least-privilege user; it never fails on them."""

from __future__ import annotations

import json

import pytest

from airflow_provider_cio.cli import main

pytestmark = pytest.mark.usefixtures("airflow_db")


def mysql_user(mysql_db, monkeypatch: pytest.MonkeyPatch, user: str, *grants: str) -> str:
    """Create ``user`` with SELECT on the test's database and ``grants``; return its connection's id."""
    server = mysql_db.server
    server.execute(
        f"DROP USER IF EXISTS '{user}'@'%'",
        f"CREATE USER '{user}'@'%' IDENTIFIED BY 'secret-{user}'",
        f"GRANT SELECT ON `{mysql_db.name}`.* TO '{user}'@'%'",
        *(f"GRANT {grant} TO '{user}'@'%'" for grant in grants),
    )
    connection = {**server.connection(mysql_db.name), "login": user, "password": f"secret-{user}"}
    monkeypatch.setenv(f"AIRFLOW_CONN_{user.upper()}", json.dumps(connection))
    return user


def check(capsys: pytest.CaptureFixture[str], conn_id: str) -> str:
    assert main(["check-connection", "--conn-id", conn_id]) == 0, "privileges are warned about, never fatal"
    return capsys.readouterr().out


def warnings(out: str) -> list[str]:
    """The privilege each warning line names."""
    return [line.split(":")[1].strip() for line in out.splitlines() if line.startswith("warning:")]


def test_a_user_granted_file_is_warned_about_file(mysql_db, monkeypatch, capsys) -> None:
    conn_id = mysql_user(mysql_db, monkeypatch, "cio_file_reader", "FILE ON *.*")
    out = check(capsys, conn_id)
    assert warnings(out) == ["FILE"]
    assert f"MySQL connection '{conn_id}'" in out
    assert "LOAD_FILE() reads any file" in out and "REVOKE FILE ON *.*" in out
    assert "secret-" not in out


def test_a_least_privilege_user_gets_no_warning(mysql_db, monkeypatch, capsys) -> None:
    conn_id = mysql_user(mysql_db, monkeypatch, "cio_least_reader")
    out = check(capsys, conn_id)
    assert warnings(out) == []
    assert f"MySQL connection '{conn_id}': no privilege beyond what a sync needs was found." in out


def test_all_privileges_warn_about_file_and_super(mysql_db, monkeypatch, capsys) -> None:
    conn_id = mysql_user(mysql_db, monkeypatch, "cio_admin_reader", "ALL PRIVILEGES ON *.*")
    assert warnings(check(capsys, conn_id)) == ["FILE", "SUPER"]


def test_a_connection_that_cannot_be_checked_fails_saying_why(capsys) -> None:
    assert main(["check-connection", "--conn-id", "no_such_connection"]) == 1
    assert "cannot check connection 'no_such_connection'" in capsys.readouterr().err
