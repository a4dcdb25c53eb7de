"""``make demo``: the example DAGs sync a throwaway MySQL database into the workspace emulator, twice.

1. A MySQL server: a private ``mariadbd``/``mysqld`` in a temporary directory, or the server named by
   ``MYSQL_URL`` (``mysql://user:password@host:port/``; the demo creates and drops a database of its
   own there). It is loaded with ``dags_examples/sql/schema.sql`` and ``sample_data.sql``.
2. The workspace emulator (a real HTTP server) and a temporary ``AIRFLOW_HOME`` with a migrated SQLite
   metadata database. The ``mysql_default`` and ``customerio_default`` connections point at them
   through ``AIRFLOW_CONN_*`` environment variables, and ``cio-retl create-pool`` creates the
   workspace's pool.
3. The DAGs of ``dags_examples/`` are parsed, then run as real DagRuns with ``dag.test()``. The demo
   runs them once, changes rows in MySQL, and runs them again.
4. A summary: rows read, sent and failed and ``last_sync_time`` per task and run, and what the
   workspace holds at the end.

Airflow's own output goes to a log file whose path is printed; everything else temporary is removed at
the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
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

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "dags_examples"
SQL = EXAMPLES / "sql"
sys.path.insert(0, str(ROOT))  # the provider, also from a checkout that is not pip-installed

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


def load_dags() -> dict[str, Any]:
    """The example DAGs, parsed as the DAG processor parses them (import errors stop the demo)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(EXAMPLES))
    if bag.import_errors:
        raise RuntimeError(f"the example DAGs do not import: {bag.import_errors}")
    for dag in bag.dags.values():
        for task in dag.tasks:
            # A real workspace applies writes within seconds, hence the wait for its activity log
            # (failed attribute changes) to settle; the emulator applies them at once.
            if hasattr(task, "activity_settle_seconds"):
                task.activity_settle_seconds = 0
    return dict(sorted(bag.dags.items()))


DAG_ORDER = ("cio_people_hourly", "cio_companies_daily", "cio_newsletter_segment")
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
    """One line per sync task: its state, rows read, sent and failed, and the last_sync_time it used."""
    say(f"\n{title}")
    say(f"  {'DAG.task':<40} {'state':<8} {'read':>5} {'sent':>5} {'failed':>6}  last_sync_time")
    for run in runs:
        report = run.report or {}
        last = report.get("last_sync_time", 0)
        last_text = "0 (first sync: everything)" if not last else f"{last} ({when(last)})"
        say(
            f"  {run.label:<40} {run.state:<8} {report.get('rows_read', 0):>5} {report.get('rows_sent', 0):>5} "
            f"{report.get('rows_failed', 0):>6}  {last_text}"
        )


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


def main() -> int:
    """Run the demo; 0 when every sync of both rounds succeeded."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="cio-demo-"))
    terminal = Terminal(work / "airflow.log")
    say = terminal.say
    say("airflow-provider-cio demo: MySQL -> example DAGs as real DagRuns -> workspace emulator")
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
        say(f"Airflow ready in {ready - started:.1f} s: {len(dags)} example DAGs parsed from dags_examples/")
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
            show_round(say, "Round 2: each sync sends only what changed since its last_sync_time", second)
            say("  (cio_people_hourly reads from 60 s before the start of its last run: lookback_seconds=60)")
            show_workspace(say, workspace)
        say(
            "\nBarbara's row was deleted in MySQL, so her profile stays as last synced (a sync never deletes "
            "people). Alan's soft delete reached the workspace as his deleted_at attribute."
        )
        failed = [run.label for run in first + second if run.state != "success"]
        finished = time.monotonic()
        say(
            f"\nDone in {finished - started:.1f} s ({ready - started:.1f} s starting Airflow, "
            f"{finished - ready:.1f} s for MySQL, the emulator and the DagRuns)."
            + (f" Failed: {', '.join(failed)}" if failed else "")
        )
        return 1 if failed else 0
    except BaseException:
        say(f"\nThe demo failed; Airflow's log is {terminal.log_path}")
        raise
    finally:
        if server is not None and os.environ.get("MYSQL_URL"):
            server.execute(f"DROP DATABASE IF EXISTS `{database}`")
        mysql.stop()
        shutil.rmtree(work / "airflow-home", ignore_errors=True)


if __name__ == "__main__":
    code = main()
    # Everything is cleaned up; skip tearing down the interpreter (seconds, after Airflow and FastAPI).
    sys.stdout.flush()
    os._exit(code)
