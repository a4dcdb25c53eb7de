"""The kinds of record a sync writes, each as one object (:class:`RecordKind`): its columns, its op builder,
its mirror rule, its records' name and the steps after the sync.

``KINDS[import_type]`` is read wherever a sync's behaviour depends on the kind; nothing outside this package
compares ``import_type`` with a name (``tests/unit/test_house.py`` says so). A new kind is a module here
making one ``RecordKind`` (listed in ``KINDS`` below, its name added to ``ImportType``), its op builder, and
the emulator's handling of its ops.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from airflow_provider_cio.sync.convert.column_types import SourceColumn
from airflow_provider_cio.sync.convert.columns import ColumnPlan, IdentifyBy, QueryError, plan_query
from airflow_provider_cio.sync.convert.values import ValueRules
from airflow_provider_cio.sync.records.kinds.events import EVENTS
from airflow_provider_cio.sync.records.kinds.kind import SEPARATOR, KindSettings, MirrorRule, RecordKind
from airflow_provider_cio.sync.records.kinds.objects import OBJECTS
from airflow_provider_cio.sync.records.kinds.people import PEOPLE
from airflow_provider_cio.sync.records.kinds.relationships import RELATIONSHIPS

__all__ = ["KINDS", "SEPARATOR", "KindSettings", "MirrorRule", "RecordKind", "plan_columns"]

KINDS: dict[str, RecordKind] = {kind.name: kind for kind in (PEOPLE, OBJECTS, RELATIONSHIPS, EVENTS)}


def plan_columns(
    columns: Sequence[SourceColumn | Sequence[Any]],
    import_type: str,
    identify_by: IdentifyBy = "id",
    *,
    json_columns: Iterable[str] = (),
    values: ValueRules | None = None,
) -> ColumnPlan:
    """Check the query's columns against the query rules and those of its kind, and plan them.

    :param columns: the query's columns as its source describes them (``SourceColumn``); rows of a DB-API
        ``description`` are columns of type ``other`` (each value converted by its Python type).
    :param import_type: ``people``, ``objects``, ``relationships`` or ``events``.
    :param identify_by: how people are identified: ``id``, ``email`` or ``phone``.
    :param json_columns: columns whose text holds JSON (MariaDB reports ``JSON`` columns as text).
    :raises QueryError: the columns break a rule; the message says how to fix the query.
    """
    kind = KINDS.get(import_type)
    if kind is None:
        named = ", ".join(map(repr, KINDS))
        raise QueryError(f"import_type must be one of {named}, not {import_type!r}")
    return plan_query(columns, kind.name, kind.columns, identify_by, json_columns=json_columns, values=values)
