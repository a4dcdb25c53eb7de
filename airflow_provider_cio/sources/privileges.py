"""The privileges of a sync's database user that reach past what the read-only transaction and the SELECT-only
check stop (docs/security.md): each one found is a warning naming the privilege and what it allows.

A sync needs ``SELECT`` only. :func:`connection_warnings` connects with an Airflow MySQL or Postgres
connection and asks the server what its user may do; ``cio-retl check-connection`` prints the answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PrivilegeWarning:
    """A privilege the connection's user should not hold.

    :param privilege: the privilege, role or function as the server names it.
    :param risk: what it lets a query do that the sync's guards do not stop.
    """

    privilege: str
    risk: str

    def describe(self) -> str:
        """One line for a person."""
        return f"{self.privilege}: {self.risk}"


MYSQL_RISKS = {
    "FILE": (
        "LOAD_FILE() reads any file the server can read, and SELECT ... INTO OUTFILE writes files; the read-only "
        "transaction stops neither. Revoke it: REVOKE FILE ON *.* FROM <user>"
    ),
    "SUPER": (
        "the user can change server settings (SET GLOBAL), kill other sessions and bypass read_only; a DEFINER "
        "function owned by such a user does so for anyone allowed to EXECUTE it. Revoke it"
    ),
}
POSTGRES_ROLE_RISKS = {
    "pg_read_server_files": (
        "pg_read_file(), COPY FROM and lo_import() read any file the server can read; the read-only transaction "
        "does not stop reads. Revoke it: REVOKE pg_read_server_files FROM <role>"
    ),
    "pg_write_server_files": (
        "COPY TO and lo_export() write files on the database server, outside the transaction. Revoke it: "
        "REVOKE pg_write_server_files FROM <role>"
    ),
    "pg_execute_server_program": (
        "COPY ... PROGRAM runs programs on the database server. Revoke it: REVOKE pg_execute_server_program FROM <role>"
    ),
}
SUPERUSER_RISK = (
    "a superuser passes every privilege check: it reads and writes server files (pg_read_file, lo_export, COPY), "
    "and can use dblink to write outside the read-only transaction. Give the sync a role of its own with SELECT"
)
DBLINK_RISK = (
    "dblink opens a second connection whose writes commit on their own, outside the sync's read-only transaction. "
    "Revoke it: REVOKE EXECUTE ON FUNCTION ... FROM <role> (or PUBLIC), or drop the extension where no one needs it"
)
FILE_FUNCTION_RISK = (
    "reads or writes files on the database server. Revoke it: REVOKE EXECUTE ON FUNCTION ... FROM <role>"
)
FILE_FUNCTIONS = ("lo_export", "lo_import", "pg_read_file", "pg_read_binary_file", "pg_ls_dir")

_GLOBAL_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON \*\.\* TO ", re.IGNORECASE)


def mysql_grant_warnings(grants: Iterable[str]) -> list[PrivilegeWarning]:
    """The warnings of ``SHOW GRANTS`` lines: FILE and SUPER (``ALL PRIVILEGES ON *.*`` holds both).

    Only privileges granted on ``*.*`` count: FILE and SUPER exist only there.
    """
    held: set[str] = set()
    for grant in grants:
        match = _GLOBAL_GRANT.match(grant.strip())
        if match is None:
            continue
        privileges = {privilege.strip().upper() for privilege in match.group("privileges").split(",")}
        held |= set(MYSQL_RISKS) if "ALL PRIVILEGES" in privileges or "ALL" in privileges else privileges
    return [PrivilegeWarning(privilege, risk) for privilege, risk in MYSQL_RISKS.items() if privilege in held]


def mysql_warnings(cursor: Any) -> list[PrivilegeWarning]:
    """Ask a MySQL or MariaDB server what the connection's user holds (``SHOW GRANTS``)."""
    cursor.execute("SHOW GRANTS")
    return mysql_grant_warnings(str(row[0]) for row in cursor.fetchall())


def postgres_warnings(cursor: Any) -> list[PrivilegeWarning]:
    """Ask a PostgreSQL server what the connection's role holds: superuser, the server-file roles, and
    EXECUTE on dblink's functions and on the server-file functions (for a superuser, which holds every role
    and may execute every function, the one superuser warning stands for the roles and the file functions)."""
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    superuser = bool(cursor.fetchone()[0])
    executable = executable_functions(cursor, ("dblink", *FILE_FUNCTIONS))
    dblink = sorted(name for name in executable if name == "dblink" or name.startswith("dblink_"))
    warnings = [PrivilegeWarning(f"EXECUTE on {', '.join(dblink)}", DBLINK_RISK)] if dblink else []
    if superuser:
        return [PrivilegeWarning("superuser", SUPERUSER_RISK), *warnings]
    for role, risk in POSTGRES_ROLE_RISKS.items():
        cursor.execute(
            "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = %s) AND pg_has_role(current_user, %s, 'USAGE')",
            (role, role),
        )
        if cursor.fetchone()[0]:
            warnings.append(PrivilegeWarning(role, risk))
    for name in FILE_FUNCTIONS:
        if name in executable:
            warnings.append(PrivilegeWarning(f"EXECUTE on {name}", FILE_FUNCTION_RISK))
    return warnings


def executable_functions(cursor: Any, names: Sequence[str]) -> set[str]:
    """Which of the functions named ``names`` (or ``dblink_*``) the connection's role may execute."""
    cursor.execute(
        "SELECT DISTINCT proname FROM pg_proc WHERE (proname = ANY(%s) OR proname LIKE 'dblink\\_%%') "
        "AND has_function_privilege(oid, 'EXECUTE')",
        (list(names),),
    )
    return {str(row[0]) for row in cursor.fetchall()}


def connection_warnings(conn_id: str) -> tuple[str, list[PrivilegeWarning]]:
    """Connect with the Airflow connection ``conn_id`` (type ``mysql`` or ``postgres``) and return how to
    name it in a message and the warnings about its user's privileges.

    :raises ValueError: the connection is of another type.
    """
    from airflow.sdk import BaseHook

    conn_type = BaseHook.get_connection(conn_id).conn_type
    if conn_type == "mysql":
        from airflow.providers.mysql.hooks.mysql import MySqlHook

        connection = MySqlHook(mysql_conn_id=conn_id).get_conn()
        source, read = "MySQL", mysql_warnings
    elif conn_type in ("postgres", "postgresql"):
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        connection = PostgresHook(postgres_conn_id=conn_id).get_conn()
        source, read = "PostgreSQL", postgres_warnings
    else:
        raise ValueError(f"connection {conn_id!r} is of type {conn_type!r}; check-connection reads mysql and postgres")
    try:
        cursor = connection.cursor()
        try:
            return f"{source} connection {conn_id!r}", read(cursor)
        finally:
            cursor.close()
    finally:
        connection.close()
