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
import struct
from collections.abc import Sequence

import numpy as np

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_LENGTH = 26
ULID_FORMAT = f"{ULID_LENGTH}s"
MAX_TIME_MS = (1 << 48) - 1
DIGEST_BYTES = 10
DIGIT_PAIRS = [first + second for first in CROCKFORD for second in CROCKFORD]
"""The two digits of each 10-bit value."""
DIGITS = np.frombuffer(CROCKFORD.encode(), np.uint8)
TIME_SHIFTS = np.arange(45, -1, -5)
HALF_SHIFTS = np.arange(35, -1, -5)


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
    digest = event_digest(name.encode() + b"\0", event_id.encode())
    return encode_ulid((milliseconds << 80) | int.from_bytes(digest, "big"))


def event_digest(name_and_nul: bytes, event_id: bytes) -> bytes:
    """The 80 bits after the time: the BLAKE2b hash of the UTF-8 name, a NUL and the UTF-8 ``event_id``."""
    return hashlib.blake2b(name_and_nul + event_id, digest_size=DIGEST_BYTES).digest()


def event_digests(name_and_nul: bytes, event_ids: Sequence[bytes]) -> list[bytes]:
    """:func:`event_digest` of one name and each of ``event_ids``: the hash of the name is taken once and
    copied for each event (a third cheaper than hashing the name again)."""
    named = hashlib.blake2b(name_and_nul, digest_size=DIGEST_BYTES)
    digests: list[bytes] = []
    add, start = digests.append, named.copy
    for event_id in event_ids:
        event = start()
        event.update(event_id)
        add(event.digest())
    return digests


def encode_ulid(value: int) -> str:
    """A 128-bit number as 26 Crockford base-32 digits (the first is 0-7: 130 bits written, 128 used)."""
    return "".join([DIGIT_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10)])


def encoded_ulids(seconds: Sequence[int] | None, digests: Sequence[bytes]) -> list[bytes]:
    """The ULIDs (26 ASCII digits each, as :func:`encode_ulid` writes them) of a block of events, in a few
    numpy operations: times in Unix seconds (checked by the caller: from 1970, within 48 bits of
    milliseconds; None: no time, all 0) and 10-byte digests.

    Each ULID's digits fall on whole numbers: the time (two zero bits and 48 bits: 10 digits), then each
    5-byte half of the digest (40 bits: 8 digits each).
    """
    count = len(digests)
    times = np.zeros(count, np.int64) if seconds is None else np.array(seconds, np.int64) * 1000
    halves = np.zeros((count, 2, 8), np.uint8)  # each half as a big-endian 64-bit number
    halves[:, :, 3:] = np.frombuffer(b"".join(digests), np.uint8).reshape(count, 2, 5)
    digits = np.empty((count, ULID_LENGTH), np.int64)
    digits[:, :10] = (times[:, None] >> TIME_SHIFTS) & 31
    digits[:, 10:] = ((halves.view(">u8").astype(np.int64) >> HALF_SHIFTS) & 31).reshape(count, 16)
    text = DIGITS[digits].tobytes()
    return [ulid for (ulid,) in struct.iter_unpack(ULID_FORMAT, text)]
