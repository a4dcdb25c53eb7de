"""Phone numbers as the workspace accepts them as person identifiers: E.164 (``+`` then 2 to 15 digits).

The one home of the phone rule: the people ops (row by row and a column at a time) and the
relationship ops all check a ``phone`` identifier here, before anything is sent.

Customer.io documents a ``+`` and up to 15 digits. E.164 numbers start with a country code (first digit 1-9)
followed by the subscriber's number, so a lone digit (``+1``) is only a country code: at least 2 digits. The
workspace emulator holds the same rule (``testing/workspace/values.py``, ``is_e164``), written on its own
as the workspace's; ``tests/unit/test_phones_and_update_only.py`` checks that the two agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from airflow_provider_cio.sync.account.outcomes import INVALID_PHONE, MISSING_IDENTIFIER, RowRefused

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_E164_LINES = re.compile(rf"{_E164.pattern}(?:\n{_E164.pattern})*+")
"""Numbers one per line: a number never holds a line break."""
ADVICE = "write numbers as E.164, e.g. +14155550123 (text: a plus, the country code, the number; no spaces or dashes)"


def is_valid_phone(value: Any) -> bool:
    """Whether ``value`` is text holding an E.164 number: ``+``, a first digit 1-9, 2 to 15 digits in all."""
    return type(value) is str and _E164.fullmatch(value) is not None


def all_valid_phones(values: Sequence[Any]) -> bool:
    """Whether every value is text holding an E.164 number (a whole column at a time), and there is one."""
    try:
        lines = "\n".join(values)
    except TypeError:  # a value that is not text
        return False
    return bool(values) and lines.count("\n") == len(values) - 1 and _E164_LINES.fullmatch(lines) is not None


def phone_text(value: Any, column: str = "phone") -> str:
    """A phone identifier, checked as E.164 and sent as it is.

    :raises RowRefused: empty (``missing_identifier``), or not text holding an E.164 number
        (``invalid_phone``); the message says how to write it and never shows the value.
    """
    if value is None or value == "":
        raise RowRefused(MISSING_IDENTIFIER, f"the {column} column is empty")
    if not is_valid_phone(value):
        raise RowRefused(INVALID_PHONE, f"the {column} column does not hold an E.164 number; {ADVICE}")
    return str(value)
