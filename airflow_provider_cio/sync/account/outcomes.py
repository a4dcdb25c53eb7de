"""What can happen to a row: the error types a sync reports, and the workspace's answer for an op."""

from __future__ import annotations

from dataclasses import dataclass

# Error types written in the error report (column ``error_type``).
MISSING_IDENTIFIER = "missing_identifier"
INVALID_IDENTIFIER = "invalid_identifier"
INVALID_EMAIL = "invalid_email"
INVALID_PHONE = "invalid_phone"
TOO_LARGE = "too_large"
BINARY_VALUE = "binary_value"
INVALID_VALUE = "invalid_value"
DUPLICATE_IDENTIFIER = "duplicate_identifier"
FAILED_ATTRIBUTE_CHANGE = "failed_attribute_change"
SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class OpError:
    """Why the workspace refused one op of a batch (``index`` is the op's position in the batch)."""

    index: int
    reason: str
    field: str
    message: str


@dataclass(frozen=True)
class RowError:
    """A row that did not reach the workspace as it should, as written in the error report.

    :param row_number: position of the row in the query result, from 1.
    :param identifier: the person's id or email, or ``<object_type_id>:<object_id>``; may be empty.
    :param error_type: one of the constants of this module, or the workspace's reason.
    :param message: what went wrong and what to fix; never holds attribute values.
    """

    row_number: int
    identifier: str
    error_type: str
    message: str


class RowRefused(ValueError):
    """Raised while building an op: this row cannot be sent, for the reason given."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
