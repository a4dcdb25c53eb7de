"""The plan step of a sync: the query's columns checked against the rules, and the op builder for them.

The builder of the import type is wrapped as the sync needs: converting the columns the driver left raw
(:class:`~airflow_provider_cio.sync.convert.server_text.ConvertingBuilder`), then, in mirror mode, leaving the
unchanged rows out (:class:`~airflow_provider_cio.sync.mirror.change_filter.MirrorBuilder`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from typing import Any

from airflow_provider_cio.sync.after_sync import SegmentTarget
from airflow_provider_cio.sync.convert.column_types import ColumnType, SourceColumn
from airflow_provider_cio.sync.convert.columns import ColumnPlan
from airflow_provider_cio.sync.convert.server_text import ConvertingBuilder, RawColumns
from airflow_provider_cio.sync.convert.values import Converter, ValueRules
from airflow_provider_cio.sync.mirror.options import MirrorOptions
from airflow_provider_cio.sync.mirror.run import MirrorRun
from airflow_provider_cio.sync.records.kinds import KINDS, plan_columns
from airflow_provider_cio.sync.records.ops import OpBuilder
from airflow_provider_cio.sync.settings import SyncSettings


def builder_for(plan: ColumnPlan, settings: SyncSettings) -> OpBuilder:
    """The op builder for the query's import type."""
    return KINDS[plan.import_type].build(plan, settings)


def fingerprint(parts: Any) -> str:
    """A short stable hash of settings (to tell whether a snapshot was made with the same ones)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


class SyncPlanner:
    """Plans one sync: its columns, its op builder, and its mirror side.

    :param settings: how to read and send rows.
    """

    def __init__(self, settings: SyncSettings) -> None:
        self.settings = settings
        self.values = ValueRules(settings.timezone)

    def text_converters(self) -> dict[ColumnType, Converter]:
        """Per column type, how the sync converts values that arrive as the text the server sent (dates, times
        and decimals); the source leaves the values of these types so when its driver can (``execute``).

        The sync converts them a column of a block at a time (:mod:`~airflow_provider_cio.sync.convert.server_text`),
        which costs less than the driver converting each value as it reads; a mirror sync converts only
        the rows it sends. A source that cannot hands over the driver's usual objects, which the sync
        converts by type.
        """
        return self.values.text_converters()

    def columns(self, columns: list[SourceColumn]) -> ColumnPlan:
        """Check the query's columns against the rules (raises ``QueryError``)."""
        settings = self.settings
        plan = plan_columns(
            columns,
            settings.import_type,
            settings.identify_by,
            json_columns=settings.json_columns,
            values=self.values,
        )
        KINDS[plan.import_type].check_plan(plan, settings)
        return plan

    def builder(self, plan: ColumnPlan, columns: list[SourceColumn], mirror: MirrorRun | None = None) -> OpBuilder:
        """The op builder of the sync: of the import type, converting raw columns, filtering changes."""
        builder = builder_for(plan, self.settings)
        raw = RawColumns.for_columns(columns, self.values)
        if raw is not None:
            builder = ConvertingBuilder(builder, raw)
        if mirror is not None:
            builder = mirror.wrap(builder, plan, self.settings.object_type_id, raw)
        return builder

    def mirror(
        self,
        options: MirrorOptions,
        columns: list[SourceColumn],
        *,
        segment: SegmentTarget | None,
        workdir: str | None,
        logger: logging.Logger | Any,
    ) -> MirrorRun:
        """The mirror side of the sync, its last snapshot loaded (with what stopped runs delivered since).

        Its fingerprints say which settings make keys (and values) comparable with an earlier snapshot's.
        """
        settings = self.settings
        named = None if segment is None else [segment.segment_id, segment.segment_name]
        keys = [settings.import_type, settings.identify_by, settings.object_type_id, named]
        values = [
            [column.name for column in columns],
            settings.empty_values,
            settings.json_columns,
            settings.timezone,
            *(["update_only"] if settings.update_only else []),  # switched either way: every row is sent again
        ]
        mirror = MirrorRun(
            replace(options, segment=bool(named)),
            import_type=settings.import_type,
            identify_by=settings.identify_by,
            key_fingerprint=fingerprint(keys),
            value_fingerprint=fingerprint(values),
            workdir=workdir,
            dry_run=settings.dry_run,
            logger=logger,
        )
        mirror.load()
        return mirror
