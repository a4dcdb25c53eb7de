"""``cio-retl``: commands for operating Customer.io syncs in an Airflow deployment.

::

    cio-retl create-pool [--conn-id customerio_default] [--name NAME]
    cio-retl preview [--conn-id ID | --mysql-conn-id ID | --postgres-conn-id ID] --sql SQL [--import-type ...] ...
    cio-retl check-connection --conn-id ID

Each subcommand is a function ``(args) -> int`` registered in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from airflow_provider_cio.pools import DEFAULT_CONN_ID, ensure_workspace_pool, workspace_pool
from airflow_provider_cio.preview import add_preview_parser


def create_pool(args: argparse.Namespace) -> int:
    """Create (or set back to one slot) the pool of a workspace and say what was done."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        change = ensure_workspace_pool(args.conn_id, args.name)
    except SQLAlchemyError as error:
        print(
            f"cio-retl: cannot use Airflow's metadata database ({type(error).__name__}). Run this where "
            "`airflow pools list` works, or create the pool in the UI (Admin > Pools) with 1 slot.",
            file=sys.stderr,
        )
        return 1
    print(change.describe(args.conn_id))
    print(f"Give every sync task of this workspace pool={change.name!r}.")
    return 0


def check_connection(args: argparse.Namespace) -> int:
    """Warn about the privileges of a source connection's user that a sync must not have.

    Prints one warning per privilege (never failing on them: 0 whatever it finds); 1 when the connection
    cannot be used at all.
    """
    from airflow_provider_cio.preview import connections_from_the_metadata_db
    from airflow_provider_cio.sources.privileges import connection_warnings

    try:
        with connections_from_the_metadata_db():
            source, warnings = connection_warnings(args.conn_id)
    except Exception as error:  # no such connection, another type, the server refused or is unreachable
        print(f"cio-retl: cannot check connection {args.conn_id!r}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if not warnings:
        print(f"{source}: no privilege beyond what a sync needs was found.")
        return 0
    print(f"{source}: its user holds {len(warnings)} privilege(s) a sync does not need (docs/security.md):")
    for warning in warnings:
        print(f"warning: {warning.describe()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one subparser per command."""
    parser = argparse.ArgumentParser(prog="cio-retl", description="Operate Customer.io reverse ETL syncs in Airflow.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pool = commands.add_parser(
        "create-pool",
        help="create the one-slot pool that runs one sync at a time per workspace",
        description=(
            "Create the Airflow pool with one slot that every sync task of a workspace names, so syncs into "
            "that workspace run one at a time. A task naming a pool that does not exist waits forever. "
            "Safe to run again: an existing pool is left as it is, or set back to one slot."
        ),
    )
    pool.add_argument(
        "--conn-id",
        default=DEFAULT_CONN_ID,
        help=f"the customerio connection of the workspace (default: {DEFAULT_CONN_ID})",
    )
    pool.add_argument("--name", default=None, help=f"the pool name (default: {workspace_pool('<conn-id>')!s})")
    pool.set_defaults(handler=create_pool)
    add_preview_parser(commands)
    check = commands.add_parser(
        "check-connection",
        help="warn when a MySQL or Postgres connection's user holds privileges a sync does not need",
        description=(
            "Connect with a MySQL or Postgres connection and warn, naming each one, about the privileges of its "
            "user that the sync's guards (a SELECT-only check and a read-only transaction) cannot contain: FILE "
            "and SUPER on MySQL; superuser, pg_read_server_files, pg_write_server_files and the use of dblink on "
            "PostgreSQL. It only warns: the exit status is 0 whatever it finds."
        ),
    )
    check.add_argument("--conn-id", required=True, help="the Airflow MySQL or Postgres connection a sync reads from")
    check.set_defaults(handler=check_connection)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``cio-retl``."""
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
