"""The sync's seams, on in-memory inputs: wrapping builders keep per-row splitting, the process tuning of a
sync is put back afterwards, and mirror removals go through the engine's senders and counts."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from airflow_provider_cio.sync.account.outcomes import OpError, RowError
from airflow_provider_cio.sync.convert.server_text import ConvertingBuilder, RawColumns
from airflow_provider_cio.sync.engine import SyncEngine
from airflow_provider_cio.sync.mirror.removals import NOT_FOUND, RemovalAnswers
from airflow_provider_cio.sync.planning import builder_for
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.records.kinds import plan_columns
from airflow_provider_cio.sync.records.wrapping import SplittingBuilder, WrappingBuilder
from airflow_provider_cio.sync.send.batches import batches_of
from airflow_provider_cio.sync.send.tuning import SENDER_SWITCH_INTERVAL, tuned_for_sync
from airflow_provider_cio.sync.settings import SyncSettings

RELATIONSHIPS = (("id", 3), ("object_id", 253))


class Passing(WrappingBuilder):
    """A new wrapper that defines only what it must: ``build``."""

    def build(self, rows: Sequence[Sequence[Any]], first_row: int) -> Iterator[Op | RowError]:
        return iter(self.inner.build(rows, first_row))


def grouped_op() -> Op:
    builder = builder_for(plan_columns(RELATIONSHIPS, "relationships", "id"), SyncSettings(import_type="relationships"))
    (op,) = [*builder.build([("p1", "a"), ("p1", "b")], 1), *builder.finish()]
    assert isinstance(op, Op) and op.row_count == 2
    return op


def test_a_wrapper_splits_a_refused_op_as_the_builder_it_wraps() -> None:
    relationships = builder_for(
        plan_columns(RELATIONSHIPS, "relationships", "id"), SyncSettings(import_type="relationships")
    )
    refusal = OpError(0, "invalid_value", "cio_relationships[1].identifiers", "no such object")
    expected = relationships.split(grouped_op(), refusal)
    assert [op.first_row for op in expected] == [1, 2]
    converting = ConvertingBuilder(relationships, RawColumns({}))
    for wrapper in (Passing(relationships), converting, Passing(converting)):
        assert isinstance(wrapper, SplittingBuilder)
        assert [op.body for op in wrapper.split(grouped_op(), refusal)] == [op.body for op in expected]


def test_a_wrapper_of_a_builder_that_cannot_split_keeps_the_op_failed() -> None:
    people = builder_for(plan_columns((("id", 3),), "people", "id"), SyncSettings(import_type="people"))
    assert not isinstance(people, SplittingBuilder)
    assert Passing(people).split(grouped_op(), OpError(0, "invalid_value", "", "no")) == []


def test_the_process_tuning_of_a_sync_is_put_back_afterwards() -> None:
    switch_interval, thresholds, frozen = sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count()
    with tuned_for_sync():
        assert sys.getswitchinterval() == min(switch_interval, SENDER_SWITCH_INTERVAL)
        assert gc.get_threshold()[0] >= thresholds[0]
        assert frozen or gc.get_freeze_count() > 0
    assert (sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count()) == (switch_interval, thresholds, frozen)


class Throttling:
    """Answers each batch; the first one asked to slow down (as a 429 that the hook retried)."""

    def __init__(self) -> None:
        self.throttled_responses = 0
        self.bodies: list[list[bytes]] = []

    def send_batch(self, ops: Sequence[bytes]) -> list[OpError]:
        self.bodies.append(list(ops))
        self.throttled_responses += len(self.bodies) == 1
        return [OpError(1, NOT_FOUND, "", "gone"), OpError(2, "invalid", "", "refused")]


class NoRows:
    description = (("id", 3),)

    def fetchmany(self, size: int) -> list[Any]:
        return []


def test_removals_sent_through_the_engine_are_paced_counted_and_answered() -> None:
    workspace = Throttling()
    people = builder_for(plan_columns((("id", 3),), "people", "id"), SyncSettings(import_type="people"))
    engine = SyncEngine(people, workspace, max_concurrency=4)
    ops = [Op(b'{"n":%d}' % n, n, 1, str(n), str(n)) for n in range(1, 4)]
    answers = RemovalAnswers("people")
    try:
        engine.run(NoRows())
        window = engine.window.limit
        engine.send(ops, answers)
    finally:
        engine.close()
    assert workspace.bodies == [batch.bodies for batch in batches_of(ops)]
    assert (engine.result.ops_sent, engine.result.batches_sent, engine.result.rows_accepted) == (3, 1, 0)
    assert engine.window.limit < window  # the workspace asked to slow down: fewer requests at once
    assert sorted(answers.removed) == ["1", "2"]  # accepted, and not found (removed already)
    assert [(error.identifier, error.error_type) for error in answers.refused] == [("3", "removal_failed")]
