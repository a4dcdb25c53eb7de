"""``cio-retl preview``: what a sync would do with the first rows of a query, sending nothing.

Like the "Run query" button of Customer.io's own sync: the query runs on the connection through the same
source as a sync (``--conn-id``: the connection's type picks it, as for ``SQLReverseETLOperator``;
``--mysql-conn-id``, the default, and ``--postgres-conn-id`` pin MySQL or PostgreSQL as their operators do),
read-only as a sync reads, its columns are checked against the query rules, and up to 100
rows go through the same op builders as a sync. It prints, for each row, the identifiers and the
attributes that would be set (or the relationship), each row error, and the verdict of the column rules.
A query that breaks a rule (``SELECT *`` from a table without an ``id`` column, two columns of one
name, a statement that is not a SELECT) gets the message that says how to fix it.

::

    cio-retl preview --mysql-conn-id mysql_default --import-type people --identify-by id \\
        --sql "SELECT id, email, plan FROM users WHERE updated_at >= FROM_UNIXTIME({{ last_sync_time }})"
    cio-retl preview --conn-id analytics_duckdb --sql "SELECT id, email, plan FROM users"

Exit status: 0 when the query passes the rules and every previewed row could be sent; 1 otherwise.
Nothing secret is printed: the connection is named by its id only, and row values are shown only as the
attributes they would set. Row values reach the terminal only through :func:`terminal_safe`: a value
holding an ANSI escape sequence, a carriage return or a newline is printed escaped (``\x1b``, ``\r``,
``\n``), so that no row can recolour, rewrite or add lines of the preview.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, get_args

import orjson

from airflow_provider_cio.sync.account.outcomes import RowError
from airflow_provider_cio.sync.convert.column_types import source_columns
from airflow_provider_cio.sync.convert.columns import ColumnPlan, IdentifyBy, ImportType, QueryError
from airflow_provider_cio.sync.convert.values import ValueRules
from airflow_provider_cio.sync.engine import SyncEngine
from airflow_provider_cio.sync.planning import builder_for
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.records.kinds import KINDS, plan_columns
from airflow_provider_cio.sync.records.ops import EmptyValues, OpBuilder
from airflow_provider_cio.sync.send.workspace import DryRunWorkspace
from airflow_provider_cio.sync.settings import SyncSettings

MAX_PREVIEW_ROWS = 100
PROCESS_CONTEXT = "_AIRFLOW_PROCESS_CONTEXT"
CONN_OPTIONS = {
    None: "--conn-id a SQL",
    "mysql": "--mysql-conn-id a MySQL",
    "postgres": "--postgres-conn-id a Postgres",
}
"""The option naming the connection, by the source it pins (None: the connection's type picks)."""


@dataclass
class Preview:
    """What a sync would do with the first rows of a query.

    :param verdict: why the query cannot be synced (a broken column rule, a database error); None when it can.
    :param query_failed: the verdict is the database's (the query did not run), not the column rules'.
    :param plan: the column plan, when the columns pass the rules.
    :param items: an op or a row error for the previewed rows, in row order.
    :param rows_read: rows previewed.
    :param more_rows: whether the query returns more rows than were previewed.
    :param source: the database the query ran on (``MySQL``, ``SQLite``, ...), once its connection was found.
    """

    verdict: str | None = None
    query_failed: bool = False
    plan: ColumnPlan | None = None
    items: list[Op | RowError] = field(default_factory=list)
    rows_read: int = 0
    more_rows: bool = False
    source: str = ""

    @property
    def row_errors(self) -> list[RowError]:
        """The previewed rows that would fail."""
        return [item for item in self.items if isinstance(item, RowError)]

    @property
    def ok(self) -> bool:
        """Whether the query passes the rules and every previewed row could be sent."""
        return self.verdict is None and not self.row_errors


def render_sql(sql: str, last_sync_time: int) -> str:
    """The query with ``{{ last_sync_time }}`` filled in, as the operators render it.

    :raises QueryError: the query names another template variable (only ``last_sync_time`` exists here).
    """
    import jinja2

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    try:
        return environment.from_string(sql).render(last_sync_time=int(last_sync_time))
    except jinja2.TemplateError as error:
        raise QueryError(
            f"the query's template cannot be rendered here ({error}); the preview knows only {{{{ last_sync_time }}}}"
        ) from None


def preview_query(
    sql: str, settings: SyncSettings, conn_id: str, limit: int = MAX_PREVIEW_ROWS, *, kind: str | None = None
) -> Preview:
    """Run the query and build the first ``limit`` rows into ops, as a sync would, without sending.

    :param sql: the rendered SELECT query.
    :param settings: the sync's settings (import type, identify_by, object type, empty values, ...).
    :param conn_id: the Airflow connection to read from.
    :param limit: rows to preview, at most 100.
    :param kind: read with this connection type's source whatever the connection's type (``mysql``,
        ``postgres``); None: the connection's type picks (:func:`~airflow_provider_cio.sources.registry.source_for`).
    """
    from airflow.sdk.exceptions import AirflowNotFoundException

    from airflow_provider_cio.sources.registry import KIND_NAMES, SourceOptions, connection_type, source_for

    limit = max(1, min(int(limit), MAX_PREVIEW_ROWS))
    missing = f"no Airflow connection is named {conn_id!r}; give {CONN_OPTIONS.get(kind)} connection"
    preview = Preview()
    try:
        conn_type = kind or connection_type(conn_id)  # looked up once: it picks the source, and names the database
        source = source_for(conn_id, SourceOptions(timezone=settings.timezone), kind=conn_type)
    except (AirflowNotFoundException, ValueError) as error:  # ValueError: not a SQL connection, or no provider
        preview.verdict = missing if isinstance(error, AirflowNotFoundException) else str(error)
        preview.query_failed = True
        return preview
    preview.source = KIND_NAMES.get(conn_type, conn_type)
    stream = source.open_stream()
    exhausted = False
    try:
        cursor = stream.execute(sql)
        preview.plan = plan_columns(
            source_columns(cursor),
            settings.import_type,
            settings.identify_by,
            json_columns=settings.json_columns,
            values=ValueRules(settings.timezone),
        )
        builder = RecordingBuilder(builder_for(preview.plan, settings))
        engine = SyncEngine(builder, DryRunWorkspace(), concurrency=1, fetch_size=limit, max_rows=limit)
        try:
            result = engine.run(cursor)
            if result.error is not None:
                raise result.error
            errors = list(engine.errors)
        finally:
            engine.close()
        preview.rows_read = result.rows_read
        preview.more_rows = result.row_limit_reached
        exhausted = not preview.more_rows
        preview.items = previewed_items(builder.ops, errors)
    except QueryError as error:
        preview.verdict = str(error)
    except AirflowNotFoundException:
        preview.verdict = missing
        preview.query_failed = True
    except Exception as error:
        if not source.is_source_error(error):
            raise
        preview.verdict = source.source_message(error)
        preview.query_failed = True
    finally:
        stream.close(finished=exhausted)
    return preview


class RecordingBuilder:
    """The sync's op builder, keeping a copy of each op it builds: the dry-run workspace receives only bytes."""

    def __init__(self, builder: OpBuilder) -> None:
        self.builder = builder
        self.unique_keys = builder.unique_keys
        self.ops: list[Op] = []

    def build(self, rows: Sequence[Sequence[Any]], first_row: int) -> Iterator[Op | RowError]:
        """The builder's ops and row errors, in row order."""
        return self._recorded(self.builder.build(rows, first_row))

    def finish(self) -> Iterator[Op | RowError]:
        """The ops the builder held back until the end."""
        return self._recorded(self.builder.finish())

    def _recorded(self, items: Iterable[Op | RowError]) -> Iterator[Op | RowError]:
        for item in items:
            if isinstance(item, Op):
                self.ops.append(item)
            yield item


def previewed_items(ops: Sequence[Op], errors: Sequence[RowError]) -> list[Op | RowError]:
    """Ops and row errors in row order; an op the engine refused (a duplicate identifier) shows as its error."""
    failed = {error.row_number for error in errors}
    items: list[Op | RowError] = [op for op in ops if op.first_row not in failed]
    items.extend(errors)
    return sorted(items, key=lambda item: item.first_row if isinstance(item, Op) else item.row_number)


def print_preview(preview: Preview, settings: SyncSettings, out: IO[str]) -> None:
    """Write the preview for a person to read: the verdict, then each row."""
    if preview.verdict is not None or preview.plan is None:
        on = f" on {preview.source}" if preview.source else ""
        out.write(f"Query: FAILED{on}\n" if preview.query_failed else "Column rules: FAILED\n")
        out.write(f"  {preview.verdict}\n")
        out.write("Nothing would be sent. Fix the query and preview it again.\n")
        return
    plan = preview.plan
    attributes = ", ".join(column.name for column in plan.attributes) or "(none)"
    out.write(f"Column rules: OK ({describe_import(settings)})\n")
    out.write(f"  identifier column: {plan.names[plan.identifier_index]}\n")
    out.write(f"  attribute columns ({len(plan.attributes)}): {attributes}\n")
    for note in plan.ignored:
        out.write(f"  not sent: {note}\n")
    more = " (the query returns more)" if preview.more_rows else ""
    out.write(f"\nFirst {rows(preview.rows_read)}{more}:\n")
    for item in preview.items:
        out.write(describe_item(item))
    errors = preview.row_errors
    failed_rows = len(errors)
    sent_rows = preview.rows_read - failed_rows
    out.write(f"\n{rows(preview.rows_read)} previewed: {sent_rows} would be sent, {failed_rows} would fail.\n")
    if errors:
        kinds = sorted({error.error_type for error in errors})
        out.write(f"Fix the failing rows ({', '.join(kinds)}) in the data or the query; a sync would report them.\n")


def rows(count: int) -> str:
    """``1 row``, ``2 rows``."""
    return f"{count} row" if count == 1 else f"{count} rows"


def describe_import(settings: SyncSettings) -> str:
    """The import the preview checked, in words."""
    return KINDS[settings.import_type].describe(settings)


def terminal_safe(text: str) -> str:
    """Text of a row for a terminal: every character that is not printable (control characters such as
    ESC, CR and LF, and invisible format characters such as bidi overrides) shown as its Python escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def describe_item(item: Op | RowError) -> str:
    """One previewed op (what it would set) or row error (why the row would fail), as text lines, each
    made :func:`terminal_safe`."""
    return "".join(terminal_safe(line) + "\n" for line in item_lines(item))


def item_lines(item: Op | RowError) -> list[str]:
    """The lines of :func:`describe_item`, as the row gives them."""
    if isinstance(item, RowError):
        return [f"row {item.row_number}: ERROR {item.error_type}: {item.message} (identifier {item.identifier!r})"]
    document: dict[str, Any] = orjson.loads(item.body)
    row_label = (
        f"row {item.first_row}"
        if item.row_count == 1
        else f"rows {item.first_row}-{item.first_row + item.row_count - 1}"
    )
    who = " ".join(f"{name}={value}" for name, value in document.get("identifiers", {}).items())
    lines = [f"{row_label}: {document.get('type', '')} {who} ({document.get('action', '')})"]
    lines.extend(attribute_lines(document.get("attributes") or {}, "    "))
    for relationship in document.get("cio_relationships") or []:
        target = " ".join(f"{name}={value}" for name, value in relationship.get("identifiers", {}).items())
        lines.append(f"    relationship with {target}")
        lines.extend(attribute_lines(relationship.get("relationship_attributes") or {}, "      "))
    return lines


def attribute_lines(attributes: dict[str, Any], indent: str) -> list[str]:
    """``name = value`` per attribute, the value as the JSON the workspace receives (null removes it)."""
    return [f"{indent}{name} = {orjson.dumps(value).decode()}" for name, value in attributes.items()]


def add_preview_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``preview`` subcommand to ``cio-retl``'s subparsers."""
    parser = commands.add_parser(
        "preview",
        help="show what a sync would set for the first rows of a query (sends nothing)",
        description=(
            "Run a sync's query on an Airflow SQL connection (through the same source as a sync) and show, for up "
            "to 100 rows, the attributes each row would set, the rows that would fail and why, and whether the "
            "columns pass the query rules. Nothing is sent to Customer.io."
        ),
    )
    query = parser.add_mutually_exclusive_group(required=True)
    query.add_argument("--sql", help="the SELECT query ({{ last_sync_time }} is filled in)")
    query.add_argument("--sql-file", type=Path, help="a file holding the query")
    connection = parser.add_mutually_exclusive_group()
    connection.add_argument(
        "--conn-id", default=None, help="any Airflow SQL connection: its type picks the source, as for a SQL operator"
    )
    connection.add_argument(
        "--mysql-conn-id", default="mysql_default", help="the Airflow MySQL connection (the default: mysql_default)"
    )
    connection.add_argument(
        "--postgres-conn-id", default=None, help="read from this Airflow Postgres connection instead of MySQL"
    )
    parser.add_argument("--import-type", choices=get_args(ImportType), default="people", help="what each row is")
    parser.add_argument("--identify-by", choices=get_args(IdentifyBy), default="id", help="how people are identified")
    parser.add_argument(
        "--update-only", action="store_true", help="people: update those who exist, create nobody (_update)"
    )
    parser.add_argument("--object-type-id", default="1", help="the object type of rows without object_type_id")
    parser.add_argument("--event-name", default=None, help="events: the name of rows without a name column value")
    parser.add_argument("--empty-values", choices=get_args(EmptyValues), default="ignore", help="NULL and empty values")
    parser.add_argument("--json-columns", nargs="*", default=[], metavar="COLUMN", help="columns holding JSON text")
    parser.add_argument("--timezone", default="UTC", help="the time zone naive DATETIME values are read in")
    parser.add_argument("--last-sync-time", type=int, default=0, help="the {{ last_sync_time }} value (default 0)")
    parser.add_argument("--limit", type=preview_limit, default=MAX_PREVIEW_ROWS, help="rows to show (at most 100)")
    parser.set_defaults(handler=run_preview)
    return parser


def preview_connection(args: argparse.Namespace) -> tuple[str, str | None]:
    """The connection the preview reads and the source it pins: ``--conn-id`` (none: its type picks),
    ``--postgres-conn-id`` (PostgreSQL), else ``--mysql-conn-id`` (MySQL)."""
    if args.conn_id is not None:
        return args.conn_id, None
    if args.postgres_conn_id is not None:
        return args.postgres_conn_id, "postgres"
    return args.mysql_conn_id, "mysql"


def preview_limit(text: str) -> int:
    """``--limit``: 1 to 100 rows."""
    value = int(text)
    if not 1 <= value <= MAX_PREVIEW_ROWS:
        raise argparse.ArgumentTypeError(f"--limit must be between 1 and {MAX_PREVIEW_ROWS}, not {value}")
    return value


@contextmanager
def connections_from_the_metadata_db() -> Iterator[None]:
    """Find connections in Airflow's metadata DB too, as ``airflow connections get`` does.

    Outside a task, Airflow's task SDK looks connections up in environment variables and the configured
    secrets backend only; a command run where the metadata DB is reachable may use it.
    """
    before = os.environ.get(PROCESS_CONTEXT)
    os.environ[PROCESS_CONTEXT] = before or "server"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PROCESS_CONTEXT, None)


def run_preview(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """The ``preview`` subcommand: print the preview; 0 when the query and every previewed row are fine."""
    out = out or sys.stdout
    try:
        settings = SyncSettings(
            import_type=args.import_type,
            identify_by=args.identify_by,
            update_only=args.update_only,
            object_type_id=args.object_type_id,
            event_name=args.event_name,
            empty_values=args.empty_values,
            json_columns=tuple(args.json_columns),
            timezone=args.timezone,
            dry_run=True,
        )
    except ValueError as error:  # the settings' own check, e.g. --object-type-id 0
        out.write(f"{error}\n")
        return 1
    sql = args.sql if args.sql is not None else args.sql_file.read_text()
    try:
        with connections_from_the_metadata_db():
            conn_id, kind = preview_connection(args)
            preview = preview_query(render_sql(sql, args.last_sync_time), settings, conn_id, args.limit, kind=kind)
    except QueryError as error:
        preview = Preview(verdict=str(error))
    print_preview(preview, settings, out)
    return 0 if preview.ok else 1
