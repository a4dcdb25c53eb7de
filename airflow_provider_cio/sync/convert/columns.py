"""The column plan: which column identifies, which columns are attributes, checked before any row is read.

The rules are Customer.io's query rules:

- people need the identifier column chosen by ``identify_by`` (``id``, ``email`` or ``phone``);
- objects need ``object_id``; an ``object_type_id`` column, when present, gives each row's type;
- relationships need ``object_id`` and the person identifier chosen by ``identify_by``; an optional
  boolean ``deleted`` column removes relationships (a date or time column is refused); the other columns
  are relationship attributes;
- events need the person identifier chosen by ``identify_by`` and ``event_id`` (the row's stable key, which
  makes the event's id); an optional ``name`` column names each event (else the sync's ``event_name``), an
  optional ``timestamp`` column gives its time; the other columns are event attributes;
- column names are attribute names exactly as written (``Email`` is not ``email``: use ``AS email``);
- every column named, no column name twice, at most 300 attribute columns, attribute names at most 150
  bytes.

``SELECT *`` is fine when the table has the identifier columns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from airflow_provider_cio.sync.convert.column_types import TEMPORAL_TYPES, ColumnType, SourceColumn, described
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


def plan_columns(
    columns: Sequence[SourceColumn | Sequence[Any]],
    import_type: ImportType,
    identify_by: IdentifyBy = "id",
    *,
    json_columns: Iterable[str] = (),
    values: ValueRules | None = None,
) -> ColumnPlan:
    """Check the query's columns against the query rules and plan them.

    :param columns: the query's columns as its source describes them (``SourceColumn``); rows of a DB-API
        ``description`` are columns of type ``other`` (each value converted by its Python type).
    :param import_type: ``people``, ``objects``, ``relationships`` or ``events``.
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
    names = tuple(column.name for column in source)
    check_named(names)
    check_unique(names)
    index = {name: i for i, name in enumerate(names)}
    json_set = set(json_columns)
    unknown_json = json_set - set(names)
    if unknown_json:
        raise QueryError(f"json_columns names columns the query does not select: {', '.join(sorted(unknown_json))}")
    values = values or ValueRules()

    roles: dict[str, int] = {}
    ignored: dict[int, str] = {}
    if import_type == "people":
        roles["identifier"] = require(index, identify_by, names, f"people identified by {identify_by}")
    elif import_type == "objects":
        roles["identifier"] = roles["object_id"] = require(index, "object_id", names, "objects")
    elif import_type == "relationships":
        roles["identifier"] = require(index, identify_by, names, f"relationships to people identified by {identify_by}")
        roles["object_id"] = require(index, "object_id", names, "relationships")
        if "deleted" in index:
            roles["deleted"] = index["deleted"]
            check_deleted_type(source[index["deleted"]])
        for other in ("id", "email"):
            if other != identify_by and other in index:
                ignored[index[other]] = (
                    f"{other} (people are identified by {identify_by}; identifiers are not relationship attributes)"
                )
    elif import_type == "events":
        roles["identifier"] = require(index, identify_by, names, f"events of people identified by {identify_by}")
        if "event_id" not in index:
            raise QueryError(f"{missing_column('event_id', names, 'events')}. {EVENT_ID_WHY}")
        roles["event_id"] = index["event_id"]
        roles.update((role, index[role]) for role in ("name", "timestamp") if role in index)
    else:
        raise QueryError(f"import_type must be 'people', 'objects', 'relationships' or 'events', not {import_type!r}")
    if import_type in ("objects", "relationships") and "object_type_id" in index:
        roles["object_type"] = index["object_type_id"]

    skipped = set(roles.values()) | set(ignored)
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
        ignored=tuple(ignored.values()),
    )


EVENT_ID_WHY = (
    "event_id is each row's stable key (e.g. the order id): it makes the event's id, which the workspace "
    "deduplicates by, so a row sent again by a look-back, a retry or a failed run never makes a second event"
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


def check_deleted_type(column: SourceColumn) -> None:
    """A relationship query's ``deleted`` column is a boolean; a date or time never is (every row would fail)."""
    if column.type in TEMPORAL_TYPES:
        raise QueryError(
            f"the deleted column is a {column.source_type or column.type}, and deleted must be a boolean (true removes "
            "the relationship); select whether it is set instead, e.g. (removed_at IS NOT NULL) AS deleted"
        )


def check_unique(names: Sequence[str]) -> None:
    """Each column name once: two columns would set the same attribute."""
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise QueryError(
            f"the query selects more than one column named {', '.join(map(repr, repeated))}; each column "
            "becomes an attribute, so give every column its own name with AS (SELECT a.id, b.id AS other_id ...)"
        )


def require(index: dict[str, int], name: str, names: Sequence[str], what: str) -> int:
    """The position of a required column, or a QueryError that says how to add it."""
    if name in index:
        return index[name]
    raise QueryError(missing_column(name, names, what))


def missing_column(name: str, names: Sequence[str], what: str) -> str:
    """What a query for ``what`` without the column ``name`` is told: how to add it, and what it has."""
    near = [n for n in names if n.lower() == name]
    if near:
        hint = f"the query has {near[0]!r}: column names are kept exactly as written, so rename it with AS {name}"
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
