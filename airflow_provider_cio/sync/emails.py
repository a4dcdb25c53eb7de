"""Email addresses as the workspace accepts them: RFC 5322 ``addr-spec``, internationalized (RFC 6531)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010FFFF]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_QUOTED_STRING = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\U0010FFFF]|\\[\x20-\x7e])*"'
_DOMAIN_LITERAL = r"\[[\x21-\x5a\x5e-\x7e]*\]"
_ADDR_SPEC = re.compile(rf"(?:{_DOT_ATOM}|{_QUOTED_STRING})@(?:{_DOT_ATOM}|{_DOMAIN_LITERAL})")
_ADDR_SPEC_LINES = re.compile(rf"{_ADDR_SPEC.pattern}(?:\n{_ADDR_SPEC.pattern})*")
"""Addresses one per line: no part of an address can hold a line break."""


def is_valid_email(value: str) -> bool:
    """Whether ``value`` is an RFC 5322 ``addr-spec`` (``local@domain``, no display name, no comments).

    The local part is a dot-atom (``jane.doe+tag``) or a quoted string (``"jane doe"``); the domain is a
    dot-atom (``example.com``) or a literal (``[192.0.2.1]``). Non-ASCII letters are allowed, as RFC 6531
    does for internationalized addresses (``jürgen@bücher.de``).
    """
    return _ADDR_SPEC.fullmatch(value) is not None


def all_valid_emails(values: Sequence[Any]) -> bool:
    """Whether every value is a string holding an RFC 5322 ``addr-spec`` (a whole column at a time).

    The column is matched as one text, an address a line: when the line breaks are exactly those
    that join the values, each value is a whole line.
    """
    try:
        lines = "\n".join(values)
    except TypeError:  # a value that is not text
        return False
    return bool(values) and lines.count("\n") == len(values) - 1 and _ADDR_SPEC_LINES.fullmatch(lines) is not None
