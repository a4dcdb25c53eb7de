"""Deterministic ULIDs: the ``id`` of an event op, the same for the same event every time it is sent.

A ULID is 128 bits written as 26 Crockford base-32 characters: 48 bits of milliseconds since the Unix
epoch, then 80 bits. Customer.io deduplicates events by this id, so an id made from what identifies the
event (not from the clock or a random source) makes a re-sent row harmless:

- the time part is the event's timestamp in milliseconds (0 when the event has no timestamp);
- the other 80 bits are the first 10 bytes of the BLAKE2b hash of the sync's event name and the
  row's ``event_id``, joined by a NUL character (which neither holds as text).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from itertools import repeat

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_LENGTH = 26
MAX_TIME_MS = (1 << 48) - 1
DIGEST_BYTES = 10
TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", CROCKFORD.encode())
"""RFC 4648 base-32 digits -> Crockford's (the same 5-bit values)."""


def event_ulid(name: str, event_id: str, timestamp: int | None) -> str:
    """The ULID of one event: the same ``name``, ``event_id`` and ``timestamp`` always give the same id.

    :param name: the event name.
    :param event_id: the row's stable key (the ``event_id`` column as text).
    :param timestamp: the event time in Unix seconds, or None (the time part is then 0).
    :raises ValueError: a timestamp before 1970 or past the year 10889 (what 48 bits of ms hold).
    :raises UnicodeEncodeError: a name or ``event_id`` that is no valid text (a lone surrogate).
    """
    milliseconds = 0 if timestamp is None else timestamp * 1000
    if not 0 <= milliseconds <= MAX_TIME_MS:
        raise ValueError(f"an event time must be between 1970 and the year 10889, not {timestamp} (Unix seconds)")
    return encoded_ulids([milliseconds], [event_digest(name.encode() + b"\0", event_id.encode())])[0].decode()


def event_digest(name_and_nul: bytes, event_id: bytes) -> bytes:
    """The 80 bits after the time: the BLAKE2b hash of the UTF-8 name, a NUL and the UTF-8 ``event_id``."""
    return hashlib.blake2b(name_and_nul + event_id, digest_size=DIGEST_BYTES).digest()


def encoded_ulids(milliseconds: Sequence[int] | None, digests: Sequence[bytes]) -> list[bytes]:
    """The ULIDs (26 ASCII characters each) of times in milliseconds (at most 48 bits; None: all 0) and
    10-byte digests.

    One base-32 encoding for them all: each ULID is 130 bits (two zero bits, then 128) shifted into 20 bytes,
    which are 32 base-32 digits of which the first 26 are the ULID's.
    """
    chunks = b"".join(
        [
            (((time << 80) | int.from_bytes(digest, "big")) << 30).to_bytes(20, "big")
            for time, digest in zip(repeat(0) if milliseconds is None else milliseconds, digests, strict=False)
        ]
    )
    text = base64.b32encode(chunks).translate(TO_CROCKFORD)
    return [text[start : start + ULID_LENGTH] for start in range(0, len(text), 32)]
