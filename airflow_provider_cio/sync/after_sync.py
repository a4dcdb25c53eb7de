"""The steps a sync runs once every row was sent: each one an :class:`AfterSyncStep` in the job's list.

A step gets the finished sync (:class:`SyncContext`): the engine that sent the rows (its row errors,
identifiers and counts), the workspace and the report it fills in. The job runs its steps in order
after a sync that read its rows to the end without an error; the steps of mirror mode are in
:mod:`~airflow_provider_cio.sync.mirror.removals`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_cio.sync.account.reconcile import settled_activities, trace_to_rows
from airflow_provider_cio.sync.account.report import SyncReport
from airflow_provider_cio.sync.engine import SyncEngine
from airflow_provider_cio.sync.records.kinds import KINDS
from airflow_provider_cio.sync.send.workspace import SyncWorkspace
from airflow_provider_cio.sync.settings import SyncSettings


@dataclass
class SyncContext:
    """A sync whose rows were all sent, as the steps after it see it.

    :param settings: how the rows were read and sent.
    :param workspace: the workspace the rows went to.
    :param engine: the engine that sent them.
    :param report: the report the steps fill in.
    :param started_at: when the sync started (Unix seconds): later activities are its own.
    :param logger: the task's log.
    :param suppressed_rows: rows about suppressed people (found by :class:`TraceLateFailures`).
    """

    settings: SyncSettings
    workspace: SyncWorkspace
    engine: SyncEngine
    report: SyncReport
    started_at: int
    logger: logging.Logger | Any
    suppressed_rows: set[int] = field(default_factory=set)


class AfterSyncStep(Protocol):
    """One step after the rows were sent (tracing late failures, filling the segment, removals)."""

    def run(self, sync: SyncContext) -> None:
        """Do the step; an exception fails the sync (its report says why)."""
        ...


class TraceLateFailures:
    """People and events: read the activity log for failed attribute changes and suppressed people, and
    report them per row (:mod:`~airflow_provider_cio.sync.account.reconcile`). An event about a suppressed
    person is ignored by the workspace like an identify, so it counts as suppressed under the same
    ``on_suppressed`` rule."""

    def run(self, sync: SyncContext) -> None:
        """Add the late failures to the row errors; note the suppressed rows in ``sync``."""
        settings, workspace, engine, report = sync.settings, sync.workspace, sync.engine, sync.report
        if not KINDS[settings.import_type].activities:
            return
        if not workspace.can_read_activities:
            sync.logger.warning(
                "The connection has no App API key: failed attribute changes and suppressed people cannot be "
                "seen, so they are counted as sent. Add the app_api_key extra to report them per row."
            )
            return
        activities = settled_activities(
            workspace,
            sync.started_at,
            settle_seconds=settings.activity_settle_seconds,
            timeout=settings.activity_timeout,
        )
        late = trace_to_rows(
            activities,
            settings.identify_by,
            engine.identifiers,
            engine.errors,
            failed_changes=KINDS[settings.import_type].failed_changes,
        )
        report.failed_changes_checked = True
        engine.errors.add(late.failed)
        report.rows_suppressed = len(late.suppressed)
        if settings.on_suppressed == "fail":
            engine.errors.add(late.suppressed)
        sync.suppressed_rows = {error.row_number for error in late.suppressed}


@dataclass
class SegmentTarget:
    """The manual segment synced people are added to: by id, or by name (created when missing)."""

    segment_id: int | None = None
    segment_name: str | None = None
    description: str = field(default="People synced from MySQL or PostgreSQL by Airflow (airflow-provider-cio).")

    @property
    def named(self) -> bool:
        """Whether a segment is named at all (by id or by name)."""
        return self.segment_id is not None or bool(self.segment_name)


class FillSegment:
    """Add the people the sync applied (no row error, not suppressed) to a manual segment.

    :param target: the segment.
    """

    def __init__(self, target: SegmentTarget) -> None:
        self.target = target

    def run(self, sync: SyncContext) -> None:
        """Add the people; the report gets the segment's id and how many were added."""
        target, workspace, report = self.target, sync.workspace, sync.report
        if target.segment_id is not None:
            segment_id = int(target.segment_id)
        else:
            segment_id = workspace.ensure_manual_segment(target.segment_name or "", target.description)
        report.segment_id = segment_id
        report.people_added_to_segment = workspace.add_to_segment(
            segment_id, applied_people(sync), id_type=sync.settings.identify_by
        )
        sync.logger.info("Added %d people to segment %s", report.people_added_to_segment, segment_id)


def applied_people(sync: SyncContext) -> Iterator[str]:
    """The identifiers of the people the sync applied: no row error, not suppressed."""
    errors, suppressed = sync.engine.errors, sync.suppressed_rows
    for row_number, key in sync.engine.identifiers:
        if not errors.has(row_number) and row_number not in suppressed:
            yield key
