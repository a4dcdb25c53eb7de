"""Deterministic ULIDs: the ``id`` of an event op, the same for the same event every time it is sent.

A ULID is 128 bits written as 26 Crockford base-32 characters: 48 bits of milliseconds since the Unix
epoch, then 80 bits. Customer.io deduplicates events by this id, so an id made from what identifies the
event (not from the clock or a random source) makes a re-sent row harmless:

- the time part is the event's timestamp in milliseconds (0 when the event has no timestamp);
- the other 80 bits are the first 10 bytes of the BLAKE2b hash of the sync's event name and the
  row's ``event_id``, joined by a NUL character (which neither holds as text).
"""

from __future__ import annotations

import hashlib

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_LENGTH = 26
MAX_TIME_MS = (1 << 48) - 1


def event_ulid(name: str, event_id: str, timestamp: int | None) -> str:
    """The ULID of one event: the same ``name``, ``event_id`` and ``timestamp`` always give the same id.

    :param name: the event name.
    :param event_id: the row's stable key (the ``event_id`` column as text).
    :param timestamp: the event time in Unix seconds, or None (the time part is then 0).
    :raises ValueError: a timestamp before 1970 or past the year 10889 (what 48 bits of ms hold).
    """
    milliseconds = 0 if timestamp is None else timestamp * 1000
    if not 0 <= milliseconds <= MAX_TIME_MS:
        raise ValueError(f"an event time must be between 1970 and the year 10889, not {timestamp} (Unix seconds)")
    digest = hashlib.blake2b(f"{name}\0{event_id}".encode(), digest_size=10).digest()
    return encode_ulid((milliseconds << 80) | int.from_bytes(digest, "big"))


def encode_ulid(value: int) -> str:
    """A 128-bit number as 26 Crockford base-32 characters (the first is 0-7: 130 bits written, 128 used)."""
    characters = []
    for _ in range(ULID_LENGTH):
        characters.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(characters))
