"""The one encoder of event ops, shared by the row path (``EventOps``) and the column path
(``ColumnarEvents``): the op's layout is written here only.

An event op is a ``bytes %`` template of its fixed parts::

    {"type":"person","identifiers":{"id":"%b"},"action":"event","name":"%b","id":"%b","timestamp":%b,
     "attributes":%b}

with, in order, the person identifier and the name as JSON strings without their quotes, the ULID, the
timestamp (only when the event has one) and the event data. The row path fills the data with its JSON
object; the column path puts the template of the block's data object in its place (its values are the
block's columns, encoded a column at a time). Both give the bytes of ``orjson.dumps`` of the op as a dict.
"""

from __future__ import annotations

from typing import Any

import orjson

from airflow_provider_cio.sync.account.outcomes import INVALID_VALUE, TOO_LARGE, RowRefused
from airflow_provider_cio.sync.limits import MAX_EVENT_DATA_BYTES, MAX_OP_BYTES
from airflow_provider_cio.sync.records.encoded import PERSON_HEAD
from airflow_provider_cio.sync.records.ops import UNWRITABLE


class EventEncoder:
    """Event ops of a sync whose people are found by ``identify_by``.

    :param identify_by: ``id``, ``email`` or ``phone``.
    """

    def __init__(self, identify_by: str) -> None:
        self.identify_by = identify_by
        self.timed = self.template(timestamped=True)
        self.untimed = self.template(timestamped=False)

    def template(self, *, timestamped: bool, data: bytes = b"%b", name: bytes | None = None) -> bytes:
        """The op as a ``bytes %`` template (see the module).

        :param data: the data object's slot, or its template.
        :param name: the name of every event, as JSON text without its quotes, written into the template
            (it then has no name slot); None: a slot.
        """
        identifiers = b'{"' + self.identify_by.encode() + b'":"%b"}'
        time = b',"timestamp":%b' if timestamped else b""
        named = b"%b" if name is None else name.replace(b"%", b"%%")
        middle = b',"action":"event","name":"' + named + b'","id":"%b"'
        return b"".join((PERSON_HEAD.replace(b"%", b"%%"), identifiers, middle, time, b',"attributes":', data, b"}"))

    def body(self, identifier: str, name: str, ulid: str, timestamp: int | None, data: dict[str, Any]) -> bytes:
        """One event op, refused when it cannot be written or is over a limit (:func:`within_event_limits`).

        :raises RowRefused: see above.
        """
        try:
            data_json = orjson.dumps(data)
            parts = [orjson.dumps(identifier)[1:-1], orjson.dumps(name)[1:-1], ulid.encode()]
        except TypeError:
            raise RowRefused(INVALID_VALUE, UNWRITABLE) from None
        if timestamp is None:
            body = self.untimed % (*parts, data_json)
        else:
            body = self.timed % (*parts, str(timestamp).encode(), data_json)
        return within_event_limits(body, len(data_json))


def within_event_limits(body: bytes, data_bytes: int) -> bytes:
    """An encoded event op, refused when its data (``data_bytes`` of JSON) is over 100,000 bytes or the op
    over 32,000.

    :raises RowRefused: either limit; the message says which, and the size.
    """
    if len(body) > MAX_OP_BYTES:
        if data_bytes > MAX_EVENT_DATA_BYTES:
            raise RowRefused(
                TOO_LARGE,
                f"the event data is {data_bytes} bytes; the limit is {MAX_EVENT_DATA_BYTES}: select fewer columns",
            )
        raise RowRefused(
            TOO_LARGE, f"the row makes an op of {len(body)} bytes; the limit is {MAX_OP_BYTES}: select fewer columns"
        )
    return body
