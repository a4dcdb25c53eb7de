"""The mass-removal guard of mirror mode: ``max_removed``, a count or a percentage of the last snapshot."""

from __future__ import annotations

import re

MAX_REMOVED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


class MassRemovalError(RuntimeError):
    """A run would remove more rows than ``max_removed`` allows; nothing was removed."""


def removal_limit(max_removed: int | str, snapshot_rows: int) -> int:
    """How many rows a run may remove: a count, or ``"N%"`` of the previous snapshot's rows (rounded down)."""
    if isinstance(max_removed, int) and not isinstance(max_removed, bool):
        return max_removed
    match = MAX_REMOVED.match(str(max_removed))
    if match is None:
        raise ValueError(f"max_removed must be a count such as 500 or a percentage such as '10%', not {max_removed!r}")
    return int(snapshot_rows * float(match.group(1)) / 100)


def check_max_removed(max_removed: int | str) -> None:
    """A clear error at DAG parse time for a ``max_removed`` that is neither a count nor a percentage."""
    if isinstance(max_removed, int) and not isinstance(max_removed, bool) and max_removed < 0:
        raise ValueError(f"max_removed must be 0 or more, not {max_removed}")
    removal_limit(max_removed, 0)


def check_removals(removed: int, *, max_removed: int | str, snapshot_rows: int, import_type: str) -> None:
    """Fail before removing anything when a run would remove more rows than ``max_removed`` allows.

    :param removed: the rows of the last snapshot that left the query.
    :param snapshot_rows: the rows of the last snapshot.
    :raises MassRemovalError: ``removed`` is over the limit.
    """
    limit = removal_limit(max_removed, snapshot_rows)
    if removed > limit:
        raise MassRemovalError(
            f"this run would remove {removed} of the {snapshot_rows} {import_type} of the last snapshot "
            f"(rows that are no longer in the query's result), more than max_removed="
            f"{max_removed!r} allows ({limit}); nothing was removed. If the query is right, "
            f"set max_removed={removed} (or a higher percentage, such as '100%') on the task for one run"
        )
