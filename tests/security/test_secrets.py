"""No Track API key, App API key or MySQL password ever appears in what a sync leaves behind.

One DagRun runs every kind of sync side by side with distinctive secrets: people with failed rows and retried
requests, people into a segment found by name (App API), relationships, a MySQL connection with a wrong password,
a workspace connection with wrong keys, and one whose App API key is refused. Everything a user or an operator of
the deployment could read afterwards is collected: every log record at DEBUG from every logger, the task output,
log files under AIRFLOW_HOME, every XCom of the run, every error CSV, the exception messages, and the bytes of the
metadata database itself. None of the secrets (nor the HTTP Basic header built from the Track key) is in any of it.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson
import pytest

from airflow_provider_cio.hooks.customerio import CustomerIOError, CustomerIOHook
from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.sources.mysql.errors import mysql_message
from airflow_provider_cio.sources.mysql.stream import MySQLQueryStream
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import check_counts, is_sync_report, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

SITE_ID = "site-secrets"
TRACK_KEY = "trk-" + secrets.token_hex(16)
APP_KEY = "app-" + secrets.token_hex(16)
MYSQL_PASSWORD = "pw-" + secrets.token_hex(12)
WRONG_TRACK_KEY = "wrongtrk-" + secrets.token_hex(12)
WRONG_APP_KEY = "wrongapp-" + secrets.token_hex(12)
WRONG_MYSQL_PASSWORD = "wrongpw-" + secrets.token_hex(12)
SECRETS = {
    "Track API key": TRACK_KEY,
    "App API key": APP_KEY,
    "MySQL password": MYSQL_PASSWORD,
    "wrong Track API key": WRONG_TRACK_KEY,
    "wrong App API key": WRONG_APP_KEY,
    "wrong MySQL password": WRONG_MYSQL_PASSWORD,
    "Basic header of the Track API key": base64.b64encode(f"{SITE_ID}:{TRACK_KEY}".encode()).decode(),
    "Basic header of the wrong Track API key": base64.b64encode(f"{SITE_ID}:{WRONG_TRACK_KEY}".encode()).decode(),
}
READER = "cio_secret_reader"
DAG_TEST_MASK_REGISTRATION = re.compile(r"^.*\[debug\s*\] Sending request .*msg=MaskSecret\(value=.*$", re.MULTILINE)
"""Airflow's own line, printed by ``dag.test()``'s in-process supervisor only, at DEBUG: it shows each secret
as Airflow registers it with its masker. A deployment's supervisor logs that message with its body omitted."""


@pytest.fixture(scope="module")
def secret_workspace() -> Iterator[WorkspaceEmulator]:
    """A workspace whose keys are the distinctive secrets."""
    with WorkspaceEmulator(site_id=SITE_ID, api_key=TRACK_KEY, app_api_key=APP_KEY) as workspace:
        yield workspace


@pytest.fixture
def connections(mysql_db, secret_workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A least-privilege MySQL user with a secret password, and the right and wrong connections."""
    server = mysql_db.server
    server.execute(
        f"DROP USER IF EXISTS '{READER}'@'%'",
        f"CREATE USER '{READER}'@'%' IDENTIFIED BY '{MYSQL_PASSWORD}'",
        f"GRANT SELECT ON `{mysql_db.name}`.* TO '{READER}'@'%'",
    )
    mysql = {
        "conn_type": "mysql",
        "host": server.host,
        "port": server.port,
        "login": READER,
        "password": MYSQL_PASSWORD,
        "schema": mysql_db.name,
    }
    workspace = secret_workspace.connection()
    wrong_keys = {**workspace, "password": WRONG_TRACK_KEY, "extra": {"app_api_key": WRONG_APP_KEY}}
    wrong_app_key = {**workspace, "extra": {"app_api_key": WRONG_APP_KEY}}
    for conn_id, connection in {
        "mysql_secret": mysql,
        "mysql_wrong_password": {**mysql, "password": WRONG_MYSQL_PASSWORD},
        "cio_secret": workspace,
        "cio_wrong_keys": wrong_keys,
        "cio_wrong_app_key": wrong_app_key,
    }.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", orjson.dumps(connection).decode())
    secret_workspace.reset()
    yield
    server.execute(f"DROP USER IF EXISTS '{READER}'@'%'")


def fill(mysql_db, workspace: WorkspaceEmulator) -> None:
    mysql_db.execute(
        "CREATE TABLE users (n INT PRIMARY KEY, id VARCHAR(20), email VARCHAR(100), plan VARCHAR(20))",
        "INSERT INTO users VALUES (1, '1', 'ada@example.com', 'pro'), (2, '2', 'not an email', 'pro'), "
        "(3, NULL, 'x@example.com', 'free'), (4, '4', 'joan@example.com', 'free'), (5, '1', NULL, 'dup')",
        "CREATE TABLE newsletter (email VARCHAR(100), plan VARCHAR(20))",
        "INSERT INTO newsletter VALUES ('lin@example.com', 'pro'), ('mae@example.com', 'free')",
        "CREATE TABLE memberships (person_id VARCHAR(20), company VARCHAR(20), removed VARCHAR(10))",
        "INSERT INTO memberships VALUES ('r1', 'acme', NULL), ('r2', 'acme', 'yes'), ('r2', 'nowhere', NULL)",
    )
    hook = CustomerIOHook("cio_secret")
    try:
        ops = [
            {"type": "object", "identifiers": {"object_type_id": "1", "object_id": "acme"}, "action": "identify"},
            *({"type": "person", "identifiers": {"id": i}, "action": "identify"} for i in ("r1", "r2")),
        ]
        assert hook.send_batch([orjson.dumps(op) for op in ops]) == []
    finally:
        hook.close()


def every_sync_dag() -> Any:
    """One DAG, one task per kind of sync; no task depends on another."""
    from airflow.sdk import DAG

    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    people = "SELECT id, email, plan FROM users ORDER BY n"
    with DAG(f"secrets_{secrets.token_hex(4)}", schedule=None, start_date=start) as dag:
        common = {"mysql_conn_id": "mysql_secret", "customerio_conn_id": "cio_secret", "activity_settle_seconds": 0}
        MySQLReverseETLOperator(task_id="people_with_failures", sql=people, **common)
        MySQLReverseETLOperator(
            task_id="segment",
            sql="SELECT email, plan FROM newsletter",
            identify_by="email",
            segment_name="Synced by Airflow",
            **common,
        )
        RelationshipOperator(
            task_id="relationships",
            sql="SELECT person_id AS id, company AS object_id, removed AS deleted FROM memberships",
            mysql_conn_id="mysql_secret",
            customerio_conn_id="cio_secret",
        )
        MySQLReverseETLOperator(
            task_id="wrong_mysql_password", sql=people, **{**common, "mysql_conn_id": "mysql_wrong_password"}
        )
        MySQLReverseETLOperator(task_id="wrong_keys", sql=people, **{**common, "customerio_conn_id": "cio_wrong_keys"})
        MySQLReverseETLOperator(
            task_id="wrong_app_key",
            sql="SELECT id, plan FROM users WHERE n = 1",
            **{**common, "customerio_conn_id": "cio_wrong_app_key"},
        )
    return dag


@pytest.fixture
def every_logger_at_debug(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.LogCaptureFixture]:
    """caplog at DEBUG for the root logger and every logger that exists, and the task log (Airflow's structlog
    loggers, printed to the task output) at DEBUG too; every level is restored afterwards."""
    import structlog

    # Airflow's structlog setup filters by a per-logger level table in the module of its logger factory
    airflow_logging = sys.modules[type(structlog.get_config()["logger_factory"]).__module__]
    monkeypatch.setitem(airflow_logging.PER_LOGGER_LEVELS, "", logging.DEBUG)
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    levels = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    caplog.set_level(logging.DEBUG)
    yield caplog
    for logger, level, disabled in levels:
        logger.setLevel(level)
        logger.disabled = disabled


def xcoms_of(dag_id: str, run_id: str) -> list[tuple[str, str, Any]]:
    """Every XCom of a DagRun: ``(task_id, key, value)`` (the counts of each sync report checked)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter(XComModel.dag_id == dag_id, XComModel.run_id == run_id).all()
        xcoms = [(row.task_id, row.key, XComModel.deserialize_value(row)) for row in rows]
    for _, _, value in xcoms:
        if is_sync_report(value):
            check_counts(value)
    return xcoms


def files_under(directory: Path) -> dict[str, str]:
    """Every file below ``directory`` (task logs, error CSVs), as text."""
    if not directory.exists():
        return {}
    return {str(path): path.read_text(errors="replace") for path in directory.rglob("*") if path.is_file()}


def metadata_database_bytes(home: Path) -> bytes:
    """The bytes of the SQLite metadata DB and of its write-ahead log (rows not yet checkpointed live there).

    They are read by a child process: SQLite's locks are POSIX locks, which a process loses on a file as soon
    as it closes any descriptor of that file. Reading the file here would drop this process's locks and let
    the next process that closes the database (the UI tests' API server) delete the write-ahead log under this
    process's open connections, whose writes then no other process sees.
    """
    files = [str(path) for path in (home / "airflow.db", home / "airflow.db-wal") if path.exists()]
    return subprocess.run(["cat", *files], capture_output=True, check=True).stdout


def exception_messages() -> list[str]:
    """The exceptions the hooks raise for the wrong keys and the wrong password, as str and repr."""
    messages = []
    hook = CustomerIOHook("cio_wrong_keys")
    try:
        with pytest.raises(CustomerIOError) as refused:
            hook.send_batch([b'{"type":"person","identifiers":{"id":"1"},"action":"identify"}'])
        messages += [str(refused.value), repr(refused.value), repr(hook.settings)]
        ok, text = hook.test_connection()
        assert not ok
        messages.append(text)
    finally:
        hook.close()
    stream = MySQLQueryStream("mysql_wrong_password")
    with pytest.raises(Exception) as denied:
        stream.execute("SELECT 1 AS id")
    messages += [str(denied.value), repr(denied.value), mysql_message(denied.value, "mysql_wrong_password")]
    return messages


def test_no_secret_appears_in_logs_xcoms_error_reports_or_exceptions(
    mysql_db, connections, secret_workspace: WorkspaceEmulator, every_logger_at_debug, capfd
) -> None:
    fill(mysql_db, secret_workspace)
    secret_workspace.faults(seed=11, rate_503=0.3, retry_after=0)
    dag = every_sync_dag()
    capfd.readouterr()
    outcome = run_dag(dag, dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))
    secret_workspace.faults()
    output = capfd.readouterr()
    task_output = output.out + output.err
    assert DAG_TEST_MASK_REGISTRATION.search(task_output), "Airflow registers the connection secrets to mask"

    home = Path(os.environ["AIRFLOW_HOME"])
    xcoms = xcoms_of(outcome.dag_id, outcome.run_id)
    reports = {task_id: value for task_id, key, value in xcoms if key == "return_value"}
    csvs = {
        uri: Path(urlparse(uri).path).read_text() for uri in (r.get("error_report") for r in reports.values()) if uri
    }
    collected = {
        "log records": every_logger_at_debug.text,
        "log record arguments": "\n".join(repr(record.args) for record in every_logger_at_debug.records),
        "task output": DAG_TEST_MASK_REGISTRATION.sub("", task_output),
        "log files": "\n".join(files_under(home / "logs").values()),
        "XComs": orjson.dumps([list(x) for x in xcoms], default=str).decode(),
        "error CSVs": "\n".join(csvs.values()),
        "exceptions": "\n".join(exception_messages()),
    }

    # what happened: each sync did what it should, so the collected text covers every path
    assert outcome.task_states == {
        "people_with_failures": "failed",
        "segment": "success",
        "relationships": "failed",
        "wrong_mysql_password": "failed",
        "wrong_keys": "failed",
        "wrong_app_key": "failed",
    }
    assert reports["people_with_failures"]["rows_failed"] == 3 and len(csvs) == 3  # and relationships, wrong_keys
    assert reports["segment"]["people_added_to_segment"] == 2
    assert reports["relationships"]["rows_sent"] == 1 and reports["relationships"]["rows_failed"] == 2
    assert "Access denied for user 'cio_secret_reader'" in reports["wrong_mysql_password"]["error"]
    assert "refused the credentials of connection 'cio_wrong_keys'" in reports["wrong_keys"]["error"]
    assert "refused the credentials of connection 'cio_wrong_app_key'" in reports["wrong_app_key"]["error"]
    assert "retrying in" in collected["task output"], "retried requests were logged"
    assert "Syncing people" in collected["task output"] and "[debug" in collected["task output"]
    assert "DEBUG    urllib3" in collected["log records"]

    for where, text in collected.items():
        for name, secret in SECRETS.items():
            assert secret not in text, f"the {name} appears in the {where}"
    database = metadata_database_bytes(home)
    for name, secret in SECRETS.items():
        assert secret.encode() not in database, f"the {name} is stored in the metadata database"


def test_the_keys_are_registered_with_airflows_masker_once_the_hook_has_read_them(connections) -> None:
    """Airflow masks a connection's password, and each extra whose name says it is a secret: ``app_api_key``
    holds ``api_key``, so once the hook has read the connection both keys are registered with the masker (an
    extra named, say, ``app_key`` would not be). In a deployment the task's supervisor then shows them as
    ``***`` in the task log; under ``dag.test()`` there is no supervisor and nothing is masked (see
    docs/security.md)."""
    from airflow.sdk.log import redact

    fresh_key = "fresh-app-" + secrets.token_hex(12)
    connection = orjson.loads(os.environ["AIRFLOW_CONN_CIO_SECRET"])
    connection["extra"]["app_api_key"] = fresh_key
    os.environ["AIRFLOW_CONN_CIO_FRESH"] = orjson.dumps(connection).decode()
    try:
        assert redact(f"key={fresh_key}") == f"key={fresh_key}", "not masked before the hook reads it"
        hook = CustomerIOHook("cio_fresh")
        assert hook.can_read_activities
        assert redact(f"key={fresh_key}") == "key=***"
        assert redact(f"track={TRACK_KEY}") == "track=***"
    finally:
        del os.environ["AIRFLOW_CONN_CIO_FRESH"]
