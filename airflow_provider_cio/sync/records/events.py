"""Rows -> ops for an events query: each row is one ``event`` op of a person.

::

    {"type": "person", "identifiers": {"id": "42"}, "action": "event", "name": "purchase",
     "id": "01HK421P48187K1084FPP4CRK9", "timestamp": 1704164645, "attributes": {"total": "19.90"}}

- The person is the ``id``, ``email`` or ``phone`` column, as ``identify_by`` says (checked as for people).
- The name is the row's ``name`` column, or the sync's ``event_name`` when the row has none.
- The time is the optional ``timestamp`` column (a DATETIME, TIMESTAMP or DATE becomes Unix seconds, as for
  attributes; an integer is taken as Unix seconds); without it, or when it is NULL, no timestamp is sent
  and the workspace uses the time it receives the event.
- The ``id`` is a deterministic ULID of the name, the ``event_id`` column and the timestamp
  (:mod:`~airflow_provider_cio.sync.records.ulid`): the workspace deduplicates events by it, so a row sent
  again (a look-back, a retried batch, a failed run sent again) never makes a second event. A repeated
  ``event_id`` in one sync is therefore not an error: it gets the same id, and the workspace keeps the
  first event.
- Every other column is event data (the op's ``attributes``), under the attribute value rules.

A name over 100 bytes, event data over 100,000 bytes, or an op over 32,000 bytes fails its row before
anything is sent. Ops are keyed by the person, so the engine sends one person's events in row order.

A block of rows whose values are all simple is built a column at a time
(:mod:`~airflow_provider_cio.sync.records.event_columns`), the others row by row; both write their ops with
the one encoder (:class:`~airflow_provider_cio.sync.records.event_body.EventEncoder`), to the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from airflow_provider_cio.sync.account.outcomes import (
    INVALID_VALUE,
    MISSING_IDENTIFIER,
    TOO_LARGE,
    RowError,
    RowRefused,
)
from airflow_provider_cio.sync.blocks import columns_of
from airflow_provider_cio.sync.convert.columns import AttributeColumn, ColumnPlan
from airflow_provider_cio.sync.limits import MAX_EVENT_NAME_BYTES
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.records.event_body import EventEncoder
from airflow_provider_cio.sync.records.event_columns import ColumnarEvents, EventColumns
from airflow_provider_cio.sync.records.ops import (
    UNWRITABLE,
    AttributeReader,
    EmptyValues,
    converted,
    email_text,
    identifier_text,
    shown,
)
from airflow_provider_cio.sync.records.phones import phone_text
from airflow_provider_cio.sync.records.ulid import MAX_TIME_MS, event_ulid


def person_identifier(identify_by: str, value: Any) -> tuple[str, str]:
    """A person identifier as sent, and its key (an email in lower case: emails match whatever the case).

    :raises RowRefused: the value is not a valid identifier of its kind.
    """
    if identify_by == "email":
        identifier = email_text(value)
        return identifier, identifier.lower()
    identifier = phone_text(value) if identify_by == "phone" else identifier_text(value, "id")
    return identifier, identifier


def event_seconds(column: AttributeColumn, value: Any) -> int | None:
    """A ``timestamp`` value as Unix seconds: dates and times by the attribute rules, integers as they are.

    :raises RowRefused: a value that is no time (text, a fraction, a date before 1970, ...).
    """
    if value is None:
        return None
    if type(value) is not int:
        value = converted(column, value)
        if type(value) is str and value.isascii() and value.isdigit():
            value = int(value)
    if type(value) is not int or not 0 <= value * 1000 <= MAX_TIME_MS:
        raise RowRefused(
            INVALID_VALUE,
            "the timestamp column must hold a DATETIME, TIMESTAMP, DATE or whole Unix seconds from 1970 on; "
            "convert it in the query, e.g. UNIX_TIMESTAMP(created_at) AS timestamp",
        )
    return value


class EventOps:
    """One person ``event`` op per row of an events query.

    :param plan: the query's column plan (``import_type="events"``).
    :param event_name: the name of rows without a ``name`` column value.
    :param empty_values: ``ignore`` leaves NULL and empty values out of the event data; ``delete`` sends
        them as null.
    """

    unique_keys = False
    """Events are not unique per person: the key only keeps one person's events in row order."""

    def __init__(self, plan: ColumnPlan, event_name: str | None = None, empty_values: EmptyValues = "ignore") -> None:
        if plan.event_id_index is None:
            raise ValueError("an events plan has an event_id column")
        self.identify_by = plan.identify_by
        self.identifier_index = plan.identifier_index
        self.event_id_index = plan.event_id_index
        self.name_index = plan.name_index
        self.timestamp = plan.timestamp
        self.event_name = event_name
        self.attributes = AttributeReader(plan.attributes, empty_values == "delete")
        self.encoder = EventEncoder(plan.identify_by)
        self.columnar = ColumnarEvents(
            self.encoder,
            EventColumns(
                plan.identifier_index,
                plan.event_id_index,
                plan.name_index,
                None if plan.timestamp is None else plan.timestamp.index,
                tuple((column.name, column.index) for column in plan.attributes),
            ),
            event_name,
        )

    def build(self, rows: Sequence[Sequence[Any]], first_row: int) -> Iterable[Op | RowError]:
        """An op or a row error for each row: a whole block at once (an ``OpBlock``) when its values are simple
        (:class:`~airflow_provider_cio.sync.records.event_columns.ColumnarEvents`), else row by row."""
        if not rows:
            return iter(())
        columns = columns_of(rows)
        ops = self.columnar.ops(columns, first_row) if self.attributes.simple_types(columns) else None
        return ops if ops is not None else self.row_by_row(rows, first_row)

    def row_by_row(self, rows: Sequence[Sequence[Any]], first_row: int) -> Iterator[Op | RowError]:
        """An op or a row error for each row, one row at a time."""
        attributes_of = self.attributes.reader_for(rows)
        body_of = self.encoder.body
        for row_number, row in enumerate(rows, first_row):
            raw = row[self.identifier_index]
            try:
                identifier, key = person_identifier(self.identify_by, raw)
                event_id = identifier_text(row[self.event_id_index], "event_id")
                name = self.name_of(row)
                timestamp = None if self.timestamp is None else event_seconds(self.timestamp, row[self.timestamp.index])
                body = body_of(identifier, name, event_ulid(name, event_id, timestamp), timestamp, attributes_of(row))
            except RowRefused as refused:
                yield RowError(row_number, shown(raw), refused.error_type, refused.message)
                continue
            except UnicodeEncodeError:  # a lone surrogate in the name or the event_id
                yield RowError(row_number, shown(raw), INVALID_VALUE, UNWRITABLE)
                continue
            yield Op(body, row_number, 1, f"{identifier}: event {event_id}", key)

    def name_of(self, row: Sequence[Any]) -> str:
        """The row's event name: its ``name`` column, else the sync's ``event_name``.

        :raises RowRefused: no name, a name that is not text, or one over 100 bytes.
        """
        value = None if self.name_index is None else row[self.name_index]
        if value is None or value == "":
            value = self.event_name
        if value is None:
            raise RowRefused(MISSING_IDENTIFIER, "the name column is empty and the sync has no event_name")
        if type(value) is not str:
            raise RowRefused(INVALID_VALUE, "the name column does not hold text; cast it, e.g. CAST(x AS CHAR)")
        if len(value.encode()) > MAX_EVENT_NAME_BYTES:
            raise RowRefused(TOO_LARGE, f"the event name is over {MAX_EVENT_NAME_BYTES} bytes; shorten it in the query")
        return value

    def finish(self) -> Iterator[Op | RowError]:
        """Event ops are never held back."""
        return iter(())
