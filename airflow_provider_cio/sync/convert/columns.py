"""The column plan: which column identifies, which columns are attributes, checked before any row is read.

The rules every query follows (Customer.io's query rules):

- column names are attribute names exactly as written (``Email`` is not ``email``: use ``AS email``);
- every column named, no column name twice, at most 300 attribute columns, attribute names at most 150
  bytes.

Each kind of record adds its own: the columns it needs and takes (its ``columns`` rule, in
:mod:`~airflow_provider_cio.sync.records.kinds`), e.g. people need the identifier column chosen by
``identify_by``. ``SELECT *`` is fine when the table has the kind's columns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from airflow_provider_cio.sync.convert.column_types import ColumnType, SourceColumn, described
from airflow_provider_cio.sync.convert.values import Converter, ValueRules
from airflow_provider_cio.sync.limits import MAX_ATTRIBUTE_COLUMNS, MAX_ATTRIBUTE_NAME_BYTES

ImportType = Literal["people", "objects", "relationships", "events"]
IdentifyBy = Literal["id", "email", "phone"]
PERSON_IDENTIFIERS = ("id", "email", "phone")
"""The person identifier columns: an identify op can neither remove nor change them (never sent as null)."""


class QueryError(ValueError):
    """The query's columns break a rule; nothing was sent. The message says how to fix the query."""


@dataclass(frozen=True)
class AttributeColumn:
    """A column sent as an attribute: its name, position in the row, and value converter.

    :param parse_text: the converter applies to text values too (JSON columns); other columns send
        strings and integers as they are.
    """

    name: str
    index: int
    convert: Converter
    parse_text: bool = False


@dataclass(frozen=True)
class ColumnPlan:
    """What each column of the query is for.

    :param identifier_index: people: the ``id``/``email`` column; relationships: the person column;
        objects: the ``object_id`` column.
    :param object_id_index: the ``object_id`` column (objects and relationships).
    :param object_type_index: the ``object_type_id`` column, if the query has one.
    :param deleted_index: the ``deleted`` column of a relationship query, if any.
    :param event_id_index: the ``event_id`` column of an events query.
    :param name_index: the ``name`` column of an events query, if any.
    :param timestamp: the ``timestamp`` column of an events query, if any, with its value converter.
    :param attributes: the columns sent as attributes, in query order.
    :param ignored: columns the sync does not send, with why (shown in the log and the preview).
    """

    import_type: ImportType
    identify_by: IdentifyBy
    names: tuple[str, ...]
    identifier_index: int
    attributes: tuple[AttributeColumn, ...]
    object_id_index: int | None = None
    object_type_index: int | None = None
    deleted_index: int | None = None
    event_id_index: int | None = None
    name_index: int | None = None
    timestamp: AttributeColumn | None = None
    ignored: tuple[str, ...] = ()


ColumnRule = Callable[["QueryColumns", IdentifyBy], None]
"""A kind's column rule: which columns of the query it needs and takes (``RecordKind.columns``)."""


class QueryColumns:
    """The query's columns as a kind's column rule reads them: the roles it gives columns, the ones it leaves out.

    The rule calls :meth:`require` for each column the kind needs, :meth:`optional` for each it may use and
    :meth:`leave_out` for a column it never sends; every other column is an attribute. The roles are those of
    :class:`ColumnPlan`: ``identifier``, ``object_id``, ``object_type``, ``deleted``, ``event_id``, ``name``
    and ``timestamp``.
    """

    def __init__(self, source: Sequence[SourceColumn]) -> None:
        self.source = source
        self.names = tuple(column.name for column in source)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.roles: dict[str, int] = {}
        self.ignored: dict[int, str] = {}

    def require(self, roles: str | tuple[str, ...], name: str, what: str, why: str = "") -> SourceColumn:
        """Give the column ``name`` its role(s); a query for ``what`` without it is told how to add it (and ``why``).

        :raises QueryError: the query has no column ``name``.
        """
        if name not in self.index:
            message = missing_column(name, self.names, what)
            raise QueryError(f"{message}. {why}" if why else message)
        return self.take(roles, name)

    def optional(self, role: str, name: str) -> SourceColumn | None:
        """Give the column ``name`` its role when the query has it."""
        return self.take(role, name) if name in self.index else None

    def take(self, roles: str | tuple[str, ...], name: str) -> SourceColumn:
        """Give the column ``name`` (which the query has) its role(s)."""
        for role in (roles,) if isinstance(roles, str) else roles:
            self.roles[role] = self.index[name]
        return self.source[self.index[name]]

    def leave_out(self, name: str, why: str) -> None:
        """Send no attribute from the column ``name``, if the query has it; ``why`` is shown in the log and preview."""
        if name in self.index:
            self.ignored[self.index[name]] = why


def plan_query(
    columns: Sequence[SourceColumn | Sequence[Any]],
    import_type: ImportType,
    rule: ColumnRule,
    identify_by: IdentifyBy = "id",
    *,
    json_columns: Iterable[str] = (),
    values: ValueRules | None = None,
) -> ColumnPlan:
    """Check the query's columns against the query rules and the kind's ``rule``, and plan them.

    :param columns: the query's columns as its source describes them (``SourceColumn``); rows of a DB-API
        ``description`` are columns of type ``other`` (each value converted by its Python type).
    :param import_type: the kind's name, kept in the plan.
    :param rule: the kind's column rule (``RecordKind.columns``).
    :param identify_by: how people are identified: ``id``, ``email`` or ``phone``.
    :param json_columns: columns whose text holds JSON (MariaDB reports ``JSON`` columns as text).
    :raises QueryError: the columns break a rule; the message says how to fix the query.
    """
    if not columns:
        raise QueryError(
            "the statement returned no result set (SELECT ... INTO a variable or a file returns none); the sync "
            "needs a SELECT that returns its rows"
        )
    if identify_by not in PERSON_IDENTIFIERS:
        raise QueryError(f"identify_by must be 'id', 'email' or 'phone', not {identify_by!r}")
    source = described(columns)
    query = QueryColumns(source)
    names = query.names
    check_named(names)
    check_unique(names)
    json_set = set(json_columns)
    unknown_json = json_set - set(names)
    if unknown_json:
        raise QueryError(f"json_columns names columns the query does not select: {', '.join(sorted(unknown_json))}")
    values = values or ValueRules()
    rule(query, identify_by)
    roles = query.roles

    skipped = set(roles.values()) | set(query.ignored)
    attributes: list[AttributeColumn] = []
    for i, column in enumerate(source):
        if i not in skipped:
            kind: ColumnType = "json" if column.name in json_set else column.type
            attributes.append(AttributeColumn(column.name, i, values.for_column(kind), parse_text=kind == "json"))
    check_attribute_names(attributes)
    return ColumnPlan(
        import_type=import_type,
        identify_by=identify_by,
        names=names,
        identifier_index=roles["identifier"],
        attributes=tuple(attributes),
        object_id_index=roles.get("object_id"),
        object_type_index=roles.get("object_type"),
        deleted_index=roles.get("deleted"),
        event_id_index=roles.get("event_id"),
        name_index=roles.get("name"),
        timestamp=timestamp_column(source, roles.get("timestamp"), values),
        ignored=tuple(query.ignored.values()),
    )


def timestamp_column(
    source: Sequence[SourceColumn], position: int | None, values: ValueRules
) -> AttributeColumn | None:
    """An events query's ``timestamp`` column with the converter of its type (dates become Unix seconds)."""
    if position is None:
        return None
    column = source[position]
    return AttributeColumn(column.name, position, values.for_column(column.type))


def check_named(names: Sequence[str]) -> None:
    """Every column has a name: an attribute cannot be called ``''`` (``SELECT '' FROM t``, ``AS ``````)."""
    unnamed = [str(position) for position, name in enumerate(names, 1) if not name.strip()]
    if unnamed:
        raise QueryError(
            f"column {', '.join(unnamed)} of the query has no name, and the column name is the attribute name; "
            "name it with AS (SELECT id, <expression> AS plan ...)"
        )


def check_unique(names: Sequence[str]) -> None:
    """Each column name once: two columns would set the same attribute."""
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise QueryError(
            f"the query selects more than one column named {', '.join(map(repr, repeated))}; each column "
            "becomes an attribute, so give every column its own name with AS (SELECT a.id, b.id AS other_id ...)"
        )


def missing_column(name: str, names: Sequence[str], what: str) -> str:
    """What a query for ``what`` without the column ``name`` is told: how to add it, and what it has."""
    near = [n for n in names if n.lower() == name]
    if near:
        hint = (
            f"the query has {near[0]!r}: column names are kept exactly as written, so rename it with AS {name} "
            f'(quoted, AS "{name}", where the database folds names to upper case, as Snowflake does)'
        )
    else:
        hint = f"select a column named {name}, or rename one with AS {name} (SELECT * only works when the table has it)"
    shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
    return f"a query for {what} needs a column named {name!r}; {hint}. Columns selected: {shown}"


def check_attribute_names(attributes: Sequence[AttributeColumn]) -> None:
    """At most 300 attribute columns, and names of at most 150 bytes."""
    if len(attributes) > MAX_ATTRIBUTE_COLUMNS:
        over = [column.name for column in attributes[MAX_ATTRIBUTE_COLUMNS:]]
        raise QueryError(
            f"the query selects {len(attributes)} attribute columns; the limit is {MAX_ATTRIBUTE_COLUMNS}. "
            f"Select fewer columns; the ones over the limit are: {', '.join(over)}"
        )
    long_names = [column.name for column in attributes if len(column.name.encode()) > MAX_ATTRIBUTE_NAME_BYTES]
    if long_names:
        raise QueryError(
            f"attribute names are limited to {MAX_ATTRIBUTE_NAME_BYTES} bytes; rename with AS: "
            + ", ".join(name[:40] + "..." for name in long_names)
        )
