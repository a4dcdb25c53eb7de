"""``make demo``: the example DAGs, and one mirror-mode sync, sync a throwaway MySQL database into the
workspace emulator, twice. ``make demo-ui`` (``--ui``) then opens the Airflow UI on the demo's runs.

1. A MySQL server: a private ``mariadbd``/``mysqld`` in a temporary directory, or the server named by
   ``MYSQL_URL`` (``mysql://user:password@host:port/``; the demo creates and drops a database of its
   own there). It is loaded with ``dags_examples/sql/schema.sql`` and ``sample_data.sql``.
2. The workspace emulator (a real HTTP server) and a temporary ``AIRFLOW_HOME`` with a migrated SQLite
   metadata database. The ``mysql_default`` and ``customerio_default`` connections point at them
   through ``AIRFLOW_CONN_*`` environment variables, and ``cio-retl create-pool`` creates the
   workspace's pool.
3. The upsert DAGs of ``dags_examples/`` are parsed, and the mirror-mode DAG ``cio_demo_mirror_people``
   (defined below) is added; all run as real DagRuns with ``dag.test()``. The demo runs them once,
   changes rows in MySQL (``CHANGES``: among them a deleted row and a newsletter signup whose email is no
   email), and runs them again.
4. A summary: rows read, sent, failed, unchanged and removed and ``last_sync_time`` per task and run,
   the failed row's error report, and what the workspace holds at the end.
5. With ``--ui``: ``airflow api-server`` on the demo's metadata database (the simple auth manager, one
   user whose password is printed), until Ctrl-C. Its address opens the "Customer.io syncs" page.

Airflow's own output goes to a log file whose path is printed; everything else temporary is removed at
the end.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "dags_examples"
SQL = EXAMPLES / "sql"
sys.path.insert(0, str(ROOT))  # the provider, also from a checkout that is not pip-installed

BAD_EMAIL = "alan.turing(at)example.com"
"""The one row of the demo that fails: the newsletter sync identifies people by email, and this is none."""
MIRROR_DAG = "cio_demo_mirror_people"
EXPECTED_FAILURE = "cio_newsletter_segment.sync_signups"
"""The sync task that fails in round 2, by design: BAD_EMAIL is a failed row, and a failed row fails its task."""
CHANGES = (
    ("Ada moves to the team plan", "UPDATE users SET plan = 'team' WHERE id = 1"),
    ("Edsger fills in his first name", "UPDATE users SET first_name = 'Edsger' WHERE id = 5"),
    ("Hedy signs up", "INSERT INTO users (id, email, first_name, plan) VALUES (7, 'hedy@example.com', 'Hedy', 'free')"),
    ("Alan's account is soft-deleted (deleted_at)", "UPDATE users SET deleted_at = NOW() WHERE id = 3"),
    ("Barbara's row is deleted outright", "DELETE FROM users WHERE id = 6"),
    ("Compiler Co grows to 300 people", "UPDATE companies SET employees = 300 WHERE id = 102"),
    (
        "a new company, Frequency Hopping GmbH",
        "INSERT INTO companies (id, name, industry, employees) VALUES (104, 'Frequency Hopping GmbH', 'Radio', 8)",
    ),
    ("Hedy founds it", "INSERT INTO memberships (user_id, company_id, role) VALUES (7, 104, 'founder')"),
    ("Alan leaves Analytical Engines", "UPDATE memberships SET removed = TRUE WHERE user_id = 3 AND company_id = 101"),
    (
        "Hedy subscribes to the newsletter",
        "INSERT INTO newsletter_signups (email, first_name, source) VALUES ('hedy@example.com', 'Hedy', 'launch')",
    ),
    (
        f"someone subscribes with a mistyped email, {BAD_EMAIL}",
        f"INSERT INTO newsletter_signups (email, first_name, source) VALUES ('{BAD_EMAIL}', NULL, 'launch')",
    ),
)
"""What changes in MySQL between the two rounds: (what a person would say, the statement)."""


@dataclass
class TaskRun:
    """One sync task of one DagRun, as the summary shows it."""

    label: str
    state: str
    report: dict[str, Any] | None


class Terminal:
    """Writes to the terminal while Airflow's own output (fd 1 and 2) goes to a log file."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.out: TextIO = os.fdopen(os.dup(1), "w", buffering=1)
        self._saved: list[int] = []

    def say(self, text: str = "") -> None:
        """Print a line on the terminal."""
        self.out.write(text + "\n")

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Send everything written to stdout and stderr, by Python or by a library, to the log file."""
        sys.stdout.flush()
        sys.stderr.flush()
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._saved = [os.dup(1), os.dup(2)]
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(self._saved[0], 1)
            os.dup2(self._saved[1], 2)
            for fd in self._saved:
                os.close(fd)


class MySQLStarter:
    """Starts the throwaway MySQL server in a thread (it is a subprocess: it starts while Airflow loads)."""

    def __init__(self) -> None:
        self.server: Any = None
        self.error: BaseException | None = None
        self._temporary: Any = None
        self._thread = threading.Thread(target=self._start, name="mysql-start", daemon=True)

    def start(self) -> None:
        """Start (or reach) the server in the background."""
        self._thread.start()

    def _start(self) -> None:
        from cio_devservers import MySQLServer, TemporaryMySQLServer

        try:
            url = os.environ.get("MYSQL_URL")
            if url:
                self.server = MySQLServer.from_url(url)
            else:
                self._temporary = TemporaryMySQLServer()
                self.server = self._temporary.start()
        except BaseException as error:
            self.error = error

    def wait(self) -> Any:
        """The running server (raises what starting it raised)."""
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.server

    def describe(self) -> str:
        """Which server the demo uses, for the terminal."""
        if os.environ.get("MYSQL_URL"):
            return f"MySQL at {self.server.host}:{self.server.port} (MYSQL_URL)"
        return f"a private MySQL-compatible server on 127.0.0.1:{self.server.port}"

    def stop(self) -> None:
        """Stop the private server and delete its files (a server named by ``MYSQL_URL`` keeps running)."""
        self._thread.join()
        if self._temporary is not None:
            self._temporary.stop()


def configure_airflow(home: Path) -> None:
    """Environment Airflow reads when first imported: a home, its SQLite database, the example DAGs."""
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
    )


def start_metadata_db(log_path: Path) -> subprocess.Popen[bytes]:
    """Create the metadata database in a child process, on another core while this one loads Airflow."""
    command = [sys.executable, "-c", "from airflow.utils import db; db.initdb()"]
    with open(log_path, "ab") as log:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)


def warm_up_task_api() -> None:
    """Build Airflow's in-process task execution API now rather than in the first DagRun.

    ``dag.test()`` runs tasks through this API; building it is most of the first run's cost (seconds of
    Python). It is only a head start: if this Airflow version builds it elsewhere, the first run does.
    """
    try:
        import httpx
        from airflow.sdk.execution_time.supervisor import in_process_api_server

        with httpx.Client(transport=in_process_api_server().transport, base_url="http://in-process") as client:
            client.get("/health/ping")
    except Exception as error:  # an optimisation only
        print(f"demo: no head start for the task API ({type(error).__name__}: {error})")


def sql_statements(path: Path) -> list[str]:
    """The statements of a .sql file (``;`` at the end of a line ends one; ``--`` lines are comments)."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("--")]
    return [statement.strip() for statement in "\n".join(lines).split(";\n") if statement.strip().rstrip(";")]


def mirror_dag() -> Any:
    """``cio_demo_mirror_people``: every user in mirror mode, so that a row deleted in MySQL deletes its person.

    The demo runs it beside the upsert DAG ``cio_people_hourly`` to compare the two on the same table; a
    deployment picks one mode per table (docs/mirror.md). Its query selects every user, soft-deleted ones
    included: only a row deleted outright leaves the query.
    """
    from airflow.sdk import DAG

    from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
    from airflow_provider_cio.pools import workspace_pool

    with DAG(
        dag_id=MIRROR_DAG,
        schedule="@hourly",
        start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        max_active_runs=1,
        doc_md=mirror_dag.__doc__,
        tags=["customerio", "reverse-etl", "mirror", "demo"],
    ) as dag:
        MySQLReverseETLOperator(
            task_id="mirror_people",
            sql="SELECT id, email, first_name, plan FROM users",
            sync_mode="mirror",
            identify_by="id",
            on_removed="delete",  # a person whose row left the query is deleted (the default, "ignore", keeps it)
            max_removed=1,  # at most one person deleted a run (the default, 10% of 6 people, allows none)
            pool=workspace_pool("customerio_default"),
        )
    return dag


def load_dags() -> dict[str, Any]:
    """The example DAGs, parsed as the DAG processor parses them (import errors stop the demo), and the
    demo's mirror DAG."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(EXAMPLES))
    if bag.import_errors:
        raise RuntimeError(f"the example DAGs do not import: {bag.import_errors}")
    bag.dags[MIRROR_DAG] = mirror_dag()
    for dag in bag.dags.values():
        for task in dag.tasks:
            # A real workspace applies writes within seconds, hence the wait for its activity log
            # (failed attribute changes) to settle; the emulator applies them at once.
            if hasattr(task, "activity_settle_seconds"):
                task.activity_settle_seconds = 0
    return dict(sorted(bag.dags.items()))


DAG_ORDER = ("cio_people_hourly", "cio_companies_daily", "cio_newsletter_segment", MIRROR_DAG)
"""People first: the memberships relate people that the people sync creates."""


def run_round(dags: dict[str, Any]) -> list[TaskRun]:
    """Run every example DAG once (one DagRun each, now) and read back each sync task's report."""
    from airflow_provider_cio.testing.dagruns import run_dag

    runs = []
    for dag_id in DAG_ORDER:
        dag = dags[dag_id]
        outcome = run_dag(dag, datetime.now(timezone.utc))
        for task in dag.topological_sort():
            state = outcome.task_states[task.task_id]
            runs.append(TaskRun(f"{dag_id}.{task.task_id}", state, outcome.xcom(task.task_id)))
    return runs


def when(seconds: int) -> str:
    """A Unix time as UTC clock time, for the summary."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%H:%M:%S UTC")


def show_round(say: Any, title: str, runs: list[TaskRun]) -> None:
    """One line per sync task: its state, rows read, sent, failed, unchanged and removed, and the
    last_sync_time it used (a mirror sync compares with its snapshot instead)."""
    say(f"\n{title}")
    counts = ("read", "sent", "failed", "unchanged", "removed")
    say(f"  {'DAG.task':<38} {'state':<7} " + " ".join(f"{name:>{len(name)}}" for name in counts) + "  last_sync_time")
    for run in runs:
        report = run.report or {}
        last = report.get("last_sync_time", 0)
        if report.get("sync_mode") == "mirror":
            last_text = "- (mirror: compares with its last snapshot)"
        else:
            last_text = "0 (first sync: everything)" if not last else f"{last} ({when(last)})"
        numbers = " ".join(f"{report.get(f'rows_{name}', 0):>{len(name)}}" for name in counts)
        say(f"  {run.label:<38} {run.state:<7} {numbers}  {last_text}")


def show_error_report(say: Any, run: TaskRun) -> None:
    """The failed rows of a run, from the error CSV its report names."""
    from airflow.sdk import ObjectStoragePath

    report = run.report or {}
    uri = report.get("error_report")
    if not uri:
        say(f"\n{run.label} has no error report")
        return
    rows = list(csv.DictReader(io.StringIO(ObjectStoragePath(uri).read_text())))
    say(f"\nThe error report of {run.label} ({len(rows)} failed row{'s' * (len(rows) != 1)}): {uri}")
    for row in rows:
        say(f"  row {row['row_number']}: {row['identifier']}: {row['error_type']}: {row['message']}")


def show_workspace(say: Any, workspace: Any) -> None:
    """Everything the workspace holds: people, companies, relationships, manual segments."""
    people = sorted(workspace.people(), key=lambda person: (int(person["id"] or 1_000_000), person["email"]))
    objects = sorted(workspace.objects(), key=lambda item: item["object_id"])
    relationships = sorted(workspace.relationships(), key=lambda link: (int(link["person"]["id"]), link["object_id"]))
    say("\nThe workspace now holds")
    say(f"  {len(people)} people:")
    for person in people:
        attributes = ", ".join(f"{name}={value}" for name, value in sorted(person["attributes"].items()))
        say(f"    id={person['id'] or '-':<3} {person['email'] or '-':<24} {attributes}")
    say(f"  {len(objects)} companies (objects of type 1):")
    for item in objects:
        attributes = ", ".join(f"{name}={value}" for name, value in sorted(item["attributes"].items()))
        say(f"    {item['object_id']:<4} {attributes}")
    links = ", ".join(
        f"{link['person']['id']}->{link['object_id']}"
        + (f" ({', '.join(f'{k}={v}' for k, v in sorted(link['attributes'].items()))})" if link["attributes"] else "")
        for link in relationships
    )
    say(f"  {len(relationships)} relationships (person id -> company): {links}")
    by_cio_id = {person["cio_id"]: person["email"] or person["id"] for person in people}
    for segment in workspace.segments():
        members = ", ".join(by_cio_id.get(cio_id, cio_id) for cio_id in segment["members"])
        say(f"  manual segment {segment['name']!r}: {len(segment['members'])} people: {members}")


def free_port(preferred: int) -> int:
    """``preferred`` when nothing listens on it, else a free port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_ui(say: Any, work: Path, port: int) -> None:
    """``airflow api-server`` on the demo's metadata database until Ctrl-C, with one user to sign in as.

    As the page's tests start it: Airflow's simple auth manager, a user ``admin`` whose password is
    generated here (a passwords file), a JWT secret of this run. The plugin comes from the package's
    ``airflow.plugins`` entry point; this checkout goes first on the server's ``PYTHONPATH``.
    """
    password = secrets.token_urlsafe(12)
    passwords = work / "passwords.json"
    passwords.write_text(json.dumps({"admin": password}))
    port = free_port(port)
    env = {
        **os.environ,
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    }
    log_path = work / "api-server.log"
    server = ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command = [sys.executable, "-m", "airflow", *server]
    say(f"\nStarting the Airflow UI on the demo's runs (its log: {log_path}) ...")
    with log_path.open("ab") as log:  # its own session: Ctrl-C reaches the demo, which stops it
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    for stop in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, even when started where SIGINT is ignored
        signal.signal(stop, signal.default_int_handler)
    try:
        deadline = time.monotonic() + 180
        while not answers(f"{url}/api/v2/monitor/health"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"airflow api-server did not start; its log is {log_path}")
            time.sleep(0.5)
        say(f"\nThe Customer.io syncs page, with the demo's runs: {url}/plugin/cio-syncs")
        say(f"  sign in as: admin   password: {password}")
        say(f"  (the same page on its own: {url}/cio-syncs/; click a sync for its query, charts and runs)")
        say("  (the example DAGs the demo does not run are listed too, with no runs)")
        say("  Press Ctrl-C to stop the server and delete the demo's files.")
        process.wait()
        raise RuntimeError(f"airflow api-server stopped ({process.returncode}); its log is {log_path}")
    except KeyboardInterrupt:
        say("\nStopping the Airflow UI.")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        passwords.unlink(missing_ok=True)


def answers(url: str) -> bool:
    """Whether a URL answers 200."""
    try:
        with urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def show_conclusions(say: Any, first: list[TaskRun], second: list[TaskRun], ui: bool) -> None:
    """What the two rounds showed, in words."""
    by_label = {run.label: run for run in second}
    mirror = by_label[f"{MIRROR_DAG}.mirror_people"].report or {}
    failed = by_label[EXPECTED_FAILURE].report or {}
    say("\nWhat happened")
    say(
        "  - Upsert (cio_people_hourly): each run sent the rows changed since its last_sync_time. Alan's soft\n"
        "    delete reached the workspace as his deleted_at attribute. Barbara's row was deleted outright: an\n"
        "    incremental query cannot see a deleted row, so this sync left her person as last synced."
    )
    say(
        f"  - Mirror ({MIRROR_DAG}): each run compared its whole query with its last snapshot. Round 2\n"
        f"    sent {mirror.get('rows_sent', 0)} new or changed people, skipped {mirror.get('rows_unchanged', 0)} "
        f"unchanged ones and deleted {mirror.get('rows_removed', 0)} whose row was gone:\n"
        '    Barbara is no longer in the workspace (on_removed="delete"; the default, "ignore", keeps people).\n'
        "    So an upsert sync never deletes people; a mirror sync can, when told to (docs/mirror.md)."
    )
    say(
        f"  - A failed row: {EXPECTED_FAILURE} failed in round 2, by design. It sent "
        f"{failed.get('rows_sent', 0)} row;\n"
        f"    the one with {BAD_EMAIL!r} is not an email (invalid_email), and a task with a failed\n"
        "    row fails, so that nobody misses it. Its last_sync_time stays where it was: once the row is fixed in\n"
        "    MySQL, the next run sends it (and the rows changed since) again. Its error report is above."
    )
    if not ui:
        say("  - See the runs in Airflow's UI, on the Customer.io syncs page: make demo-ui")


def main(argv: list[str] | None = None) -> int:
    """Run the demo; 0 when every sync succeeded but the one that fails by design (EXPECTED_FAILURE)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ui", action="store_true", help="then serve the Airflow UI on the demo's runs until Ctrl-C")
    parser.add_argument("--port", type=int, default=8080, help="the UI's port (another free one when it is taken)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="cio-demo-"))
    terminal = Terminal(work / "airflow.log")
    say = terminal.say
    say("airflow-provider-cio demo: MySQL -> example DAGs and a mirror DAG, as real DagRuns -> workspace emulator")
    say(f"Airflow's own log: {terminal.log_path}")
    mysql = MySQLStarter()
    mysql.start()
    configure_airflow(work / "airflow-home")
    database = f"cio_demo_{uuid.uuid4().hex[:8]}"
    server = None
    try:
        migration = start_metadata_db(terminal.log_path)
        with terminal.quiet():
            warm_up_task_api()
            from airflow_provider_cio.pools import ensure_workspace_pool
            from airflow_provider_cio.testing.emulator import WorkspaceEmulator

            if migration.wait() != 0:
                raise RuntimeError("creating Airflow's metadata database failed")
            dags = load_dags()
            pool = ensure_workspace_pool("customerio_default")
        ready = time.monotonic()
        say(
            f"Airflow ready in {ready - started:.1f} s: {len(DAG_ORDER) - 1} example DAGs from dags_examples/ "
            f"and the demo's {MIRROR_DAG}"
        )
        say(f"  {pool.describe('customerio_default')}")
        server = mysql.wait()
        server.create_database(database)
        server.execute(*sql_statements(SQL / "schema.sql"), *sql_statements(SQL / "sample_data.sql"), database=database)
        say(f"MySQL: {mysql.describe()}, database {database} with the example tables and sample rows")
        with WorkspaceEmulator() as workspace:
            os.environ.update(server.connection_env("mysql_default", database=database))
            os.environ.update(workspace.connection_env("customerio_default"))
            say(f"Workspace emulator: {workspace.url}")
            with terminal.quiet():
                first = run_round(dags)
            show_round(say, "Round 1: the first sync of each DAG sends every row", first)
            server.execute(*(statement for _, statement in CHANGES), database=database)
            say("\nChanges in MySQL:")
            for change, _ in CHANGES:
                say(f"  - {change}")
            with terminal.quiet():
                second = run_round(dags)
            show_round(
                say, "Round 2: upsert syncs send what changed since last_sync_time; mirror, what differs", second
            )
            say("  (cio_people_hourly reads from 60 s before the start of its last run: lookback_seconds=60)")
            show_error_report(say, next(run for run in second if run.label == EXPECTED_FAILURE))
            show_workspace(say, workspace)
        show_conclusions(say, first, second, args.ui)
        failed = [
            f"{run.label} (round {n})"
            for n, runs in ((1, first), (2, second))
            for run in runs
            if run.state != "success"
        ]
        unexpected = [label for label in failed if label != f"{EXPECTED_FAILURE} (round 2)"]
        finished = time.monotonic()
        say(
            f"\nDone in {finished - started:.1f} s ({ready - started:.1f} s starting Airflow, "
            f"{finished - ready:.1f} s for MySQL, the emulator and the DagRuns)."
            + (f" Unexpected: {', '.join(unexpected)}" if unexpected else "")
            + ("" if f"{EXPECTED_FAILURE} (round 2)" in failed else f" {EXPECTED_FAILURE} did not fail in round 2.")
        )
        if args.ui:
            release(server, database, mysql)
            server = None
            serve_ui(say, work, args.port)
        return 1 if unexpected or f"{EXPECTED_FAILURE} (round 2)" not in failed else 0
    except BaseException:
        say(f"\nThe demo failed; Airflow's log is {terminal.log_path}")
        raise
    finally:
        release(server, database, mysql)
        shutil.rmtree(work / "airflow-home", ignore_errors=True)


def release(server: Any, database: str, mysql: MySQLStarter) -> None:
    """Drop the demo's database from a server named by ``MYSQL_URL``, and stop the private server."""
    if server is not None and os.environ.get("MYSQL_URL"):
        server.execute(f"DROP DATABASE IF EXISTS `{database}`")
    mysql.stop()


if __name__ == "__main__":
    code = main()
    # Everything is cleaned up; skip tearing down the interpreter (seconds, after Airflow and FastAPI).
    sys.stdout.flush()
    os._exit(code)
