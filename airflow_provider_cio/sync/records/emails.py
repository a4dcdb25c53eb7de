"""Email addresses as the workspace accepts them: RFC 5322 ``addr-spec``, internationalized (RFC 6531)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010FFFF]"


def addr_spec_pattern(once: str) -> str:
    """The ``addr-spec`` regular expression; ``once`` follows each repetition (``"+"``: possessive)."""
    dot_atom = rf"{_ATEXT}+{once}(?:\.{_ATEXT}+{once})*{once}"
    quoted_string = rf'"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\U0010FFFF]|\\[\x20-\x7e])*{once}"'
    domain_literal = rf"\[[\x21-\x5a\x5e-\x7e]*{once}\]"
    return rf"(?:{dot_atom}|{quoted_string})@(?:{dot_atom}|{domain_literal})"


_ONCE = "+"
"""Possessive repetitions: no part of an address can match two ways, so giving back
characters never helps, and the matcher keeps no way back: twice as fast on a column of addresses, the same
addresses (``tests/unit/test_emails.py`` compares the two)."""
_ADDR_SPEC = re.compile(addr_spec_pattern(_ONCE))
_ADDR_SPEC_LINES = re.compile(rf"{_ADDR_SPEC.pattern}(?:\n{_ADDR_SPEC.pattern})*{_ONCE}")
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


email_key = str.lower
"""The key of an email address: the address in lower case, as the workspace matches emails whatever their case.

The one home of the lower-casing: the ops' keys (a person's rows in order), the mirror keys and the
activities traced back to rows all key an email by it."""


def person_key(identify_by: str, identifier: str) -> str:
    """A person's key from the identifier as sent: an email by :data:`email_key`, an id or a phone as it is."""
    return email_key(identifier) if identify_by == "email" else identifier
