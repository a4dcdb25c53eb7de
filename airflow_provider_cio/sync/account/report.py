"""What a sync reports: counts for XCom and the UI, and whether the sync failed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula in a cell (OWASP "CSV Injection")."""

MIRROR_ONLY = ("removals_failed", "people_removed_from_segment", "would_remove", "snapshot")
"""Report keys that only a mirror sync pushes."""


def spreadsheet_safe(cell: str | None) -> str | None:
    """A cell of the error report as text a spreadsheet shows and never runs: a cell starting with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``, as OWASP recommends against CSV
    injection (a row of the source table may hold ``=HYPERLINK(...)``).

    A negative identifier such as ``-5`` is written ``'-5`` too. A program reading the CSV gets the value
    back by dropping a leading ``'`` followed by one of these characters.
    """
    return "'" + cell if cell and cell.startswith(FORMULA_STARTS) else cell


@dataclass
class SyncReport:
    """The outcome of one sync, pushed to XCom as ``return_value`` (see :meth:`to_xcom`).

    Once a sync has ended, every row read is counted once::

        rows_read = rows_sent + rows_failed + rows_suppressed + rows_not_sent + rows_unchanged

    (``rows_unchanged`` is 0 outside mirror mode). ``rows_removed`` counts something else: rows of the
    last snapshot that were no longer in the query, which the workspace removed.

    :param rows_read: rows the query returned (at most the row limit).
    :param rows_sent: rows the workspace accepted and applied.
    :param rows_failed: rows that failed, each listed in the error report (suppressed people are not
        counted here, even under ``on_suppressed="fail"``, which lists them in the report too).
    :param rows_suppressed: rows about suppressed people (not applied).
    :param rows_not_sent: rows never sent because the sync stopped early.
    :param rows_unchanged: mirror mode: rows equal to the last snapshot's, not sent.
    :param rows_removed: mirror mode: rows that left the query and were removed from the workspace as
        ``on_removed`` says (deleted, suppressed, or relationships deleted).
    :param removals_failed: mirror mode: removals the workspace refused (the sync fails; the next run
        tries them again).
    :param people_removed_from_segment: mirror mode: people who left the query, removed from the segment.
    :param would_remove: mirror dry run: how many rows would be removed.
    :param snapshot: mirror mode: the snapshot this successful run recorded (relative to its folder).
    :param last_sync_time: the value ``{{ last_sync_time }}`` had in the query.
    :param error_report: URI of the error CSV, or None when it would be empty.
    :param errors_by_type: failed rows per error type.
    :param would_send: for a dry run, what would have been sent: rows, ops and batches.
    :param error: what stopped the sync early, if anything (no secrets, no row data).
    :param settings: the task's settings that the syncs page shows (connection ids, ``identify_by``,
        ``empty_values``, ``on_removed``, the segment): names and choices only, never secrets.
    """

    import_type: str
    rows_read: int = 0
    rows_sent: int = 0
    rows_failed: int = 0
    rows_suppressed: int = 0
    rows_not_sent: int = 0
    rows_unchanged: int = 0
    rows_removed: int = 0
    removals_failed: int = 0
    people_removed_from_segment: int = 0
    would_remove: int = 0
    sync_mode: str = "upsert"
    snapshot: str | None = None
    ops_sent: int = 0
    batches_sent: int = 0
    requests_sent: int = 0
    last_sync_time: int = 0
    error_report: str | None = None
    errors_by_type: dict[str, int] = field(default_factory=dict)
    segment_id: int | None = None
    people_added_to_segment: int = 0
    row_limit_reached: bool = False
    dry_run: bool = False
    would_send: dict[str, int] | None = None
    failed_changes_checked: bool = False
    duration_seconds: float = 0.0
    error: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    suppressed_fail: bool = field(default=False, repr=False)

    @property
    def failed(self) -> bool:
        """Whether the sync counts as failed (and must not advance ``last_sync_time``)."""
        return bool(
            self.error
            or self.rows_failed
            or self.rows_not_sent
            or self.removals_failed
            or self.row_limit_reached
            or (self.suppressed_fail and self.rows_suppressed)
        )

    def summary(self) -> str:
        """One line of counts for the task log."""
        text = (
            f"{self.import_type}: {self.rows_read} rows read, {self.rows_sent} sent, {self.rows_failed} failed, "
            f"{self.rows_suppressed} suppressed"
        )
        if self.rows_not_sent:
            text += f", {self.rows_not_sent} not sent"
        if self.sync_mode == "mirror":
            text += f", {self.rows_unchanged} unchanged, {self.rows_removed} removed"
        if self.dry_run and self.would_send:
            text += f" (dry run: would send {self.would_send['rows']} rows in {self.would_send['ops']} ops, "
            text += f"{self.would_send['batches']} batches)"
        return text + f" in {self.duration_seconds:.1f} s"

    def failure_message(self) -> str:
        """Why the sync failed, and what to do, for the task's exception."""
        reasons = []
        if self.error:
            reasons.append(self.error)
        if self.row_limit_reached:
            reasons.append(
                f"the query returned more than {self.rows_read} rows, the limit of one sync; the rows over the "
                "limit were not sent. Add ORDER BY and LIMIT, or a WHERE clause on {{ last_sync_time }}"
            )
        if self.rows_failed:
            kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.errors_by_type.items()))
            reasons.append(f"{self.rows_failed} rows failed ({kinds}); see the error report {self.error_report}")
        if self.suppressed_fail and self.rows_suppressed:
            reasons.append(
                f"{self.rows_suppressed} rows are about suppressed people (on_suppressed='fail'); see the error "
                f"report {self.error_report}"
            )
        if self.rows_not_sent and not self.error:
            reasons.append(f"{self.rows_not_sent} rows were not sent")
        if self.removals_failed:
            reasons.append(f"the workspace refused {self.removals_failed} removals (see the task log)")
        if self.sync_mode == "mirror":
            return "; ".join(reasons) + (
                ". The snapshot is not advanced: the next run sends the failed and unsent rows again (rows the "
                "workspace accepted are kept in a checkpoint and not sent again)."
            )
        return "; ".join(reasons) + ". last_sync_time is not advanced: the next run sends these rows again."

    def to_xcom(self) -> dict[str, Any]:
        """The report as a JSON-serialisable dict."""
        data = asdict(self)
        data.pop("suppressed_fail")
        if self.sync_mode != "mirror":  # rows_unchanged and rows_removed stay (0): the count identity
            for key in MIRROR_ONLY:
                data.pop(key)
        data["status"] = "failed" if self.failed else "success"
        data["duration_seconds"] = round(self.duration_seconds, 3)
        return data
