"""Fixtures of the "Customer.io syncs" page tests: sync runs in the metadata DB, a real Airflow API server,
headless Chromium driven by Playwright.

- ``sync_history``: real DagRuns (``dag.test()``) of sync DAGs against the session's MySQL server and the
  emulator, written to the session's SQLite metadata DB, plus two traps for the download: a task that is
  not a sync but pushes a report-shaped XCom, and a sync report whose ``error_report`` was changed to
  point at a file that is not an error report.
- ``api_server``: ``airflow api-server`` in a subprocess on a free port, on that same metadata DB, with
  the simple auth manager's rules and three users: an admin, a viewer who may read one DAG only, and an
  editor (role ``user``) who may read and edit that same DAG only, its XComs included
  (``one_dag_auth.OneDagAuthManager``). The plugin is found the way a deployment finds it: through
  the ``airflow.plugins`` entry point of the installed distribution.
- ``browser``: Debian's Chromium (``/usr/bin/chromium``, or ``CIO_TEST_CHROMIUM``) through Playwright,
  which never downloads a browser of its own. A missing browser fails the tests with what to install.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".artifacts" / "ui"
CHROMIUM = os.environ.get("CIO_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USERNAME = "admin"
READER = "reader"
EDITOR = "editor"
READER_DAG = "cio_ui_objects_dry_run"
"""The one DAG the reader may read, and the editor may read and edit."""
SERVER_START_SECONDS = 180
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
PEOPLE_SQL = "SELECT id, email, plan FROM users WHERE UNIX_TIMESTAMP(updated_at) >= {{ last_sync_time }} ORDER BY seq"


@dataclass
class SyncHistory:
    """The runs the page must show, and the traps the download must refuse."""

    people_dag: str = "cio_ui_people"
    dry_run_dag: str = "cio_ui_objects_dry_run"
    not_a_sync_dag: str = "cio_ui_not_a_sync"
    tampered_dag: str = "cio_ui_tampered"
    no_pool_dag: str = "cio_ui_no_pool"
    """A sync whose pool does not exist (``dag.test()`` ignores pools, so it ran)."""
    never_run_dag: str = "cio_ui_never_run"
    mapped_dag: str = "cio_ui_mapped"
    """A mapped sync (``.partial().expand()``) whose two instances fail different rows."""
    events_dag: str = "cio_ui_events"
    """An events sync (``purchase`` events of an ``orders`` table) reading through the ``mysql_orders``
    connection."""
    events_run: Any = None
    people_runs: list[Any] = field(default_factory=list)
    """The people DagRuns, oldest first: failed (2 rows), succeeded, succeeded (1 row changed since)."""
    people_reports: list[dict[str, Any]] = field(default_factory=list)
    people_sql: str = PEOPLE_SQL
    """The query of the people syncs, as written (templated)."""
    dry_run: Any = None
    dry_run_report: dict[str, Any] | None = None
    not_a_sync_run: Any = None
    tampered_run: Any = None
    no_pool_run: Any = None
    mapped_run: Any = None
    mapped_reports: list[dict[str, Any]] = field(default_factory=list)
    """The mapped sync's reports, by map index."""
    secret_text: str = ""
    """The content of a file no download may serve."""


@pytest.fixture(scope="module")
def sync_history(airflow_db, mysql_server, emulator_server, tmp_path_factory) -> Iterator[SyncHistory]:
    """Sync runs in the metadata DB: a failed sync with an error CSV, two good ones, a dry run, and traps."""
    from airflow.models.xcom import XComModel
    from airflow.sdk import DAG, task

    from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
    from airflow_provider_cio.pools import workspace_pool
    from airflow_provider_cio.testing.dagruns import register_dag, run_dag

    history = SyncHistory()
    dates = (START + timedelta(days=n) for n in itertools.count())
    database = mysql_server.create_database("cio_ui_page")
    secret = tmp_path_factory.mktemp("secret") / "not_an_error_report.csv"
    history.secret_text = f"api_key,{secrets.token_hex(8)}\n"
    secret.write_text(history.secret_text)
    emulator_server.reset()
    with pytest.MonkeyPatch.context() as env:
        for key, value in {
            **mysql_server.connection_env("mysql_default", database=database),
            **emulator_server.connection_env("customerio_default"),
        }.items():
            env.setenv(key, value)
        mysql_server.execute(
            "CREATE TABLE users (seq INT AUTO_INCREMENT PRIMARY KEY, id VARCHAR(40), email VARCHAR(200), "
            "plan VARCHAR(20), updated_at DATETIME DEFAULT '2025-12-01 00:00:00')",
            "INSERT INTO users (id, email, plan) VALUES ('1', 'ada@example.com', 'pro'), "
            "('2', 'not an email', 'free'), ('3', 'grace@example.com', 'pro'), ('', 'nobody@example.com', 'free'), "
            "('5', 'alan@example.com', 'free'), ('6', 'edsger@example.com', 'pro')",
            "CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, total DECIMAL(8, 2), created_at DATETIME)",
            "INSERT INTO orders VALUES (1001, 1, 19.90, '2025-12-01 10:00:00'), (1002, 3, 5.00, '2025-12-01 11:00:00'),"
            " (1003, 1, 42.00, '2025-12-02 09:30:00')",
            "CREATE TABLE companies (object_id VARCHAR(40), name VARCHAR(100))",
            "INSERT INTO companies VALUES ('acme', 'Acme'), ('globex', 'Globex'), ('initech', 'Initech')",
            database=database,
        )

        custom = tmp_path_factory.mktemp("reports")  # the download also serves a rendered error_report_path
        with DAG(history.people_dag, schedule=None, start_date=START) as people:
            MySQLReverseETLOperator(
                task_id="sync",
                sql=PEOPLE_SQL,
                activity_settle_seconds=0,
                error_report_path=f"file://{custom}/{{{{ dag.dag_id }}}}/{{{{ run_id | replace(':', '_') }}}}.csv",
            )
        history.people_runs.append(run_dag(people, next(dates)))
        mysql_server.execute(
            "UPDATE users SET email = 'barbara@example.com' WHERE id = '2'",
            "UPDATE users SET id = '4' WHERE id = ''",
            database=database,
        )
        history.people_runs.append(run_dag(people, next(dates)))
        mysql_server.execute(
            "UPDATE users SET plan = 'enterprise', updated_at = '2026-06-01 00:00:00' WHERE id = '3'", database=database
        )
        history.people_runs.append(run_dag(people, next(dates)))
        history.people_reports = [run.xcom("sync") for run in history.people_runs]

        with DAG(history.dry_run_dag, schedule=None, start_date=START) as objects:
            MySQLReverseETLOperator(
                task_id="sync_companies",
                sql="SELECT object_id, name FROM companies",
                import_type="objects",
                dry_run=True,
            )
        history.dry_run = run_dag(objects, next(dates))
        history.dry_run_report = history.dry_run.xcom("sync_companies")

        with DAG(history.not_a_sync_dag, schedule=None, start_date=START) as not_a_sync:

            @task(task_id="sync")
            def looks_like_a_report() -> dict[str, Any]:
                return {**history.people_reports[0], "error_report": f"file://{secret}"}

            looks_like_a_report()
        history.not_a_sync_run = run_dag(not_a_sync, next(dates))

        mysql_server.execute("UPDATE users SET email = 'broken' WHERE id = '1'", database=database)
        with DAG(history.tampered_dag, schedule=None, start_date=START) as tampered:
            MySQLReverseETLOperator(task_id="sync", sql=PEOPLE_SQL, activity_settle_seconds=0)
        history.tampered_run = run_dag(tampered, next(dates))
        report = history.tampered_run.xcom("sync")
        XComModel.set(
            "return_value",
            {**report, "error_report": f"file://{secret}"},
            dag_id=history.tampered_dag,
            task_id="sync",
            run_id=history.tampered_run.run_id,
        )

        with DAG(history.no_pool_dag, schedule=None, start_date=START) as no_pool:
            MySQLReverseETLOperator(
                task_id="sync_companies",
                sql="SELECT object_id, name FROM companies",
                import_type="objects",
                customerio_conn_id="workspace_eu",
                pool=workspace_pool("workspace_eu"),
            )
        env.setenv("AIRFLOW_CONN_WORKSPACE_EU", os.environ["AIRFLOW_CONN_CUSTOMERIO_DEFAULT"])
        history.no_pool_run = run_dag(no_pool, next(dates))

        with DAG(history.mapped_dag, schedule=None, start_date=START) as mapped:
            MySQLReverseETLOperator.partial(task_id="sync", activity_settle_seconds=0).expand(
                sql=[  # instance 0 fails the email 'broken' (row 1), instance 1 the empty id (row 3)
                    "SELECT id, email FROM users WHERE id IN ('1', '3') ORDER BY seq",
                    "SELECT id, email FROM users WHERE id IN ('', '5', '6') ORDER BY seq DESC",
                ]
            )
        mysql_server.execute("UPDATE users SET id = '' WHERE id = '4'", database=database)
        history.mapped_run = run_dag(mapped, next(dates))
        history.mapped_reports = [history.mapped_run.xcom("sync", map_index=index) for index in (0, 1)]

        with DAG(history.events_dag, schedule=None, start_date=START) as events:
            MySQLReverseETLOperator(
                task_id="sync_purchases",
                sql="SELECT user_id AS id, id AS event_id, created_at AS timestamp, total FROM orders ORDER BY id",
                import_type="events",
                event_name="purchase",
                mysql_conn_id="mysql_orders",
                activity_settle_seconds=0,
            )
        env.setenv("AIRFLOW_CONN_MYSQL_ORDERS", os.environ["AIRFLOW_CONN_MYSQL_DEFAULT"])
        history.events_run = run_dag(events, next(dates))

        with DAG(history.never_run_dag, schedule="@daily", start_date=START, catchup=False) as never_run:
            MySQLReverseETLOperator(task_id="sync", sql=PEOPLE_SQL)
        register_dag(never_run)
    yield history
    mysql_server.execute(f"DROP DATABASE IF EXISTS `{database}`")


@dataclass
class ApiServer:
    """A running ``airflow api-server``."""

    url: str
    username: str
    password: str
    log_path: Path
    reader: str = READER
    """A user who may read one DAG only (same password)."""
    editor: str = EDITOR
    """A user who may read and edit (its XComs included) that same DAG only (same password)."""
    reader_dag: str = READER_DAG

    def token(self, username: str | None = None) -> str:
        """A JWT for the admin (or another user), from ``POST /auth/token``."""
        response = requests.post(
            f"{self.url}/auth/token",
            json={"username": username or self.username, "password": self.password},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["access_token"]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def api_server(sync_history, tmp_path_factory) -> Iterator[ApiServer]:
    """``airflow api-server`` on the tests' metadata DB, with the simple auth manager and one known user."""
    workdir = tmp_path_factory.mktemp("api_server")
    password = secrets.token_urlsafe(12)
    passwords = workdir / "passwords.json"
    passwords.write_text(json.dumps({USERNAME: password, READER: password, EDITOR: password}))
    port = free_port()
    env = {
        **os.environ,
        "AIRFLOW__CORE__AUTH_MANAGER": "one_dag_auth.OneDagAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin,{READER}:viewer,{EDITOR}:user",
        "CIO_TEST_READER": f"{READER},{EDITOR}",
        "CIO_TEST_READER_DAGS": READER_DAG,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(REPO), os.environ.get("PYTHONPATH", "")]),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
    }
    log_path = workdir / "api-server.log"
    airflow = Path(sys.executable).with_name("airflow")
    command = [str(airflow), "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = ApiServer(f"http://127.0.0.1:{port}", USERNAME, password, log_path)
    try:
        wait_until_up(server, process)
        check_plugin_loaded(server)
        yield server
    finally:
        stop(process)


def wait_until_up(server: ApiServer, process: subprocess.Popen[bytes]) -> None:
    """Wait for the health endpoint; fail with the server's log if it exits or never answers."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"airflow api-server exited ({process.returncode}):\n{tail(server.log_path)}")
        try:
            if requests.get(f"{server.url}/api/v2/monitor/health", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or slow on a busy machine
            pass
        time.sleep(0.5)
    pytest.fail(f"airflow api-server did not answer in {SERVER_START_SECONDS} s:\n{tail(server.log_path)}")


def check_plugin_loaded(server: ApiServer) -> None:
    """Fail at once, saying why, when the API server runs without the plugin."""
    headers = {"Authorization": f"Bearer {server.token()}"}
    plugins = requests.get(f"{server.url}/api/v2/plugins", headers=headers, timeout=30).json()["plugins"]
    if not any(plugin["name"] == "customerio_syncs" for plugin in plugins):
        pytest.fail(
            "airflow api-server did not load the customerio_syncs plugin: install the package (pip install -e .) "
            "so that its airflow.plugins entry point is registered"
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and the workers it started (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def tail(path: Path, lines: int = 40) -> str:
    """The end of a log file."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from Debian's package, driven by Playwright (which downloads no browser)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: the page tests need a real browser. Install Debian's package "
            "(apt-get install chromium; scripts/system-deps.sh does it) or point CIO_TEST_CHROMIUM at a Chromium."
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is missing: pip install -e '.[test]' (it needs no browser download).")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where screenshots are kept after the tests (``.artifacts/ui/``, ignored by git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def sign_in(browser: Any, server: ApiServer, username: str) -> dict[str, Any]:
    """Sign in through Airflow's login form; the browser state (cookies) of the signed-in user."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{server.url}/")
        page.wait_for_url("**/auth/login**")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", server.password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/auth/login" not in url)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture(scope="module")
def admin_state(browser, api_server) -> dict[str, Any]:
    """The admin's signed-in browser state (signed in once per module)."""
    return sign_in(browser, api_server, api_server.username)


@pytest.fixture(scope="module")
def reader_state(browser, api_server) -> dict[str, Any]:
    """The signed-in browser state of the user who may read one DAG only."""
    return sign_in(browser, api_server, READER)


def open_page(browser: Any, state: dict[str, Any]) -> Iterator[Any]:
    """A fresh browser page of a signed-in user: no test sees what another left open."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True, storage_state=state)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def signed_in_page(browser, admin_state) -> Iterator[Any]:
    """A new browser page signed in as the admin."""
    yield from open_page(browser, admin_state)


@pytest.fixture
def reader_page(browser, reader_state) -> Iterator[Any]:
    """A new browser page signed in as the user who may read one DAG only."""
    yield from open_page(browser, reader_state)
