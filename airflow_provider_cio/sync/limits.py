"""The workspace's published limits, and the sync's own (from Customer.io's MySQL sync)."""

from __future__ import annotations

MAX_OP_BYTES = 32_000
"""One op, serialized: "at most 32 kb"; kb is not defined, so we stay under 32,000 bytes."""

MAX_BATCH_BYTES = 500_000
"""One ``/api/v2/batch`` request body: "at most 500 kb", read as 500,000 bytes."""

MAX_IDENTIFIER_BYTES = 150
"""A person ``id`` or an ``object_id``, in UTF-8 bytes."""

MAX_ATTRIBUTE_NAME_BYTES = 150
MAX_ATTRIBUTE_VALUE_BYTES = 1000
"""A string value in UTF-8 bytes; a nested (JSON) value as compact JSON."""

PLAIN_STRING_CHARACTERS = MAX_ATTRIBUTE_VALUE_BYTES // 4
"""Strings up to this many characters cannot exceed the value limit, whatever their UTF-8 length."""

MAX_ATTRIBUTE_COLUMNS = 300
"""Attribute columns a query may select (identifier columns aside)."""

MAX_ROWS = 10_000_000
"""Rows one sync may add or update."""

MAX_EVENT_NAME_BYTES = 100
"""An event name, in UTF-8 bytes."""

MAX_EVENT_DATA_BYTES = 100_000
"""An event's attributes (its data) as compact JSON."""
