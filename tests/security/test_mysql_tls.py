"""MySQL over TLS, configured the way Airflow users configure it: the MySQL connection's ``ssl``/``ssl_mode``
extras, read by ``MySqlHook``.

The module starts its own MySQL-compatible server with certificates it generated (a CA, a server certificate
for 127.0.0.1, a client certificate), and creates least-privilege users (``SELECT`` on one database) that
``REQUIRE SSL`` and ``REQUIRE X509``. Syncs run as real DagRuns into the emulator; the query itself reads the
session's TLS cipher, so the workspace shows that the sync's own MySQL session was encrypted.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import run_dag
from cio_devservers import MySQLServer, TemporaryMySQLServer
from security.certificates import TLSFiles, make_pki

pytestmark = pytest.mark.usefixtures("airflow_db")

DATABASE = "shop"
TLS_USER, TLS_PASSWORD = "cio_tls", "tls-user-password"
X509_USER, X509_PASSWORD = "cio_x509", "x509-user-password"
# The sync's own session reports its TLS cipher (MariaDB's information_schema; MySQL 8 has it in performance_schema)
CIPHER_SQL = (
    "SELECT id, plan, (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
    "WHERE VARIABLE_NAME = 'SSL_CIPHER') AS mysql_tls_cipher FROM users ORDER BY id"
)
_dag_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TLSFiles]:
    """The server's PKI, and another CA that signed neither the server nor the client."""
    root = tmp_path_factory.mktemp("mysql-tls")
    return {"server": make_pki(root / "server"), "stranger": make_pki(root / "stranger", "stranger")}


@pytest.fixture(scope="module")
def tls_server(pki: dict[str, TLSFiles]) -> Iterator[MySQLServer]:
    """A private server with TLS on, a table, and users that require TLS (and a client certificate)."""
    files = pki["server"]
    args = [f"--ssl-ca={files.ca}", f"--ssl-cert={files.server_cert}", f"--ssl-key={files.server_key}"]
    with TemporaryMySQLServer(extra_args=args) as server:
        server.create_database(DATABASE)
        server.execute(
            "CREATE TABLE users (id INT PRIMARY KEY, plan VARCHAR(20))",
            "INSERT INTO users VALUES (1, 'pro'), (2, 'free')",
            database=DATABASE,
        )
        server.execute(
            f"CREATE USER '{TLS_USER}'@'%' IDENTIFIED BY '{TLS_PASSWORD}' REQUIRE SSL",
            f"CREATE USER '{X509_USER}'@'%' IDENTIFIED BY '{X509_PASSWORD}' REQUIRE X509",
            f"GRANT SELECT ON {DATABASE}.* TO '{TLS_USER}'@'%', '{X509_USER}'@'%'",
        )
        yield server


def mysql_connection(server: MySQLServer, user: str, password: str, extra: dict[str, Any]) -> str:
    """An Airflow MySQL connection (``AIRFLOW_CONN_*`` JSON), extras as a user types them in the UI."""
    return json.dumps(
        {
            "conn_type": "mysql",
            "host": server.host,
            "port": server.port,
            "login": user,
            "password": password,
            "schema": DATABASE,
            "extra": extra,
        }
    )


def sync(conn_id: str) -> tuple[str, dict[str, Any]]:
    """One DagRun of a people sync reading through ``conn_id``: the task state and its report."""
    from airflow.sdk import DAG

    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    with DAG(f"mysql_tls_{next(_dag_numbers)}", schedule=None, start_date=start) as dag:
        MySQLReverseETLOperator(task_id="sync", sql=CIPHER_SQL, mysql_conn_id=conn_id, activity_settle_seconds=0)
    outcome = run_dag(dag, start)
    return outcome.task_states["sync"], outcome.xcom("sync")


SSL_EXTRAS = {
    "ssl dict with the CA": lambda files: {"ssl": {"ca": files.ca}},
    "ssl as JSON text": lambda files: {"ssl": json.dumps({"ca": files.ca})},
    "ssl_mode VERIFY_IDENTITY": lambda files: {"ssl_mode": "VERIFY_IDENTITY", "ssl": {"ca": files.ca}},
}


@pytest.mark.parametrize("form", list(SSL_EXTRAS))
def test_a_user_that_requires_ssl_syncs_over_tls_with_the_ssl_extra(
    tls_server: MySQLServer, pki, workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    extra = SSL_EXTRAS[form](pki["server"])
    monkeypatch.setenv("AIRFLOW_CONN_MYSQL_TLS", mysql_connection(tls_server, TLS_USER, TLS_PASSWORD, extra))

    state, report = sync("mysql_tls")

    assert state == "success", report
    people = {p["id"]: p["attributes"] for p in workspace.people()}
    assert set(people) == {"1", "2"}
    cipher = people["1"]["mysql_tls_cipher"]
    assert cipher.startswith(("TLS_", "ECDHE-", "DHE-")), f"the sync's session is encrypted ({cipher!r})"


def test_a_user_that_requires_a_client_certificate_syncs_with_cert_and_key(
    tls_server: MySQLServer, pki, workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = pki["server"]
    extra = {"ssl": {"ca": files.ca, "cert": files.client_cert, "key": files.client_key}}
    monkeypatch.setenv("AIRFLOW_CONN_MYSQL_X509", mysql_connection(tls_server, X509_USER, X509_PASSWORD, extra))

    state, report = sync("mysql_x509")

    assert state == "success", report
    assert report["rows_sent"] == 2
    assert workspace.person(id="1")["attributes"]["mysql_tls_cipher"]


REFUSED = (
    "Check the connection's login and password; a user created with REQUIRE SSL or REQUIRE X509 also needs the "
    "connection's ssl extra (ca, and cert and key for X509)"
)


@pytest.mark.parametrize(
    ("user", "password", "extra_for"),
    [
        pytest.param(TLS_USER, TLS_PASSWORD, lambda files: {"ssl_mode": "DISABLED"}, id="REQUIRE SSL user, no TLS"),
        pytest.param(
            X509_USER, X509_PASSWORD, lambda files: {"ssl": {"ca": files.ca}}, id="REQUIRE X509 user, no client cert"
        ),
    ],
)
def test_without_what_the_user_requires_the_server_refuses_and_the_error_names_the_connection(
    tls_server: MySQLServer,
    pki,
    workspace: WorkspaceEmulator,
    monkeypatch: pytest.MonkeyPatch,
    user,
    password,
    extra_for,
) -> None:
    extra = extra_for(pki["server"])
    monkeypatch.setenv("AIRFLOW_CONN_MYSQL_REFUSED", mysql_connection(tls_server, user, password, extra))

    state, report = sync("mysql_refused")

    assert state == "failed"
    assert report["error"] == (
        f"MySQL connection 'mysql_refused' failed (OperationalError 1045): Access denied for user '{user}'@'localhost' "
        f"(using password: YES). {REFUSED}"
    )
    assert password not in report["error"]
    assert workspace.requests_log() == [], "nothing was sent"


def test_a_server_certificate_from_another_ca_is_refused(
    tls_server: MySQLServer, pki, workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = {"ssl": {"ca": pki["stranger"].ca}}
    monkeypatch.setenv("AIRFLOW_CONN_MYSQL_STRANGER", mysql_connection(tls_server, TLS_USER, TLS_PASSWORD, extra))

    state, report = sync("mysql_stranger")

    assert state == "failed"
    assert report["error"].startswith("MySQL connection 'mysql_stranger' failed (OperationalError 2026): TLS/SSL error")
    assert report["error"].endswith(
        "Check the connection's ssl extra: ca must be the CA that signed the server's certificate, and cert and key "
        "a client certificate the server accepts"
    )
    assert workspace.requests_log() == []


def test_the_hook_session_reports_its_cipher(tls_server: MySQLServer, pki, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same connection through ``MySqlHook`` directly (what ``airflow connections test`` uses)."""
    from airflow.providers.mysql.hooks.mysql import MySqlHook

    extra = {"ssl": {"ca": pki["server"].ca}}
    monkeypatch.setenv("AIRFLOW_CONN_MYSQL_HOOK", mysql_connection(tls_server, TLS_USER, TLS_PASSWORD, extra))
    [(name, cipher)] = MySqlHook(mysql_conn_id="mysql_hook").get_records("SHOW STATUS LIKE 'Ssl_cipher'")
    assert name == "Ssl_cipher" and cipher
