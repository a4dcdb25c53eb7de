"""Batching a block of ops at once cuts the batches exactly where adding them one by one does: every request
as full as 500,000 bytes allows, never over, ops in order, whatever the sizes and however the ops arrive."""

from __future__ import annotations

import random

import pytest

from airflow_provider_cio.sync.limits import MAX_BATCH_BYTES, MAX_OP_BYTES
from airflow_provider_cio.sync.records.encoded import Op, OpBlock
from airflow_provider_cio.sync.send.batches import ENVELOPE_BYTES, Batch, BatchBuilder


def ops_of_sizes(sizes: list[int]) -> list[Op]:
    return [Op(b"x" * size, row, 1 + row % 3, str(row), str(row)) for row, size in enumerate(sizes, 1)]


def shape(batches: list[Batch]) -> list[tuple[list[int], int, int]]:
    return [([op.first_row for op in batch.ops], batch.size, batch.rows) for batch in batches]


def one_by_one(ops: list[Op]) -> list[Batch]:
    builder = BatchBuilder()
    closed = [batch for batch in map(builder.add, ops) if batch is not None]
    return [*closed, *filter(None, [builder.flush()])]


def in_blocks(ops: list[Op], block_sizes: list[int]) -> list[Batch]:
    builder, closed, start = BatchBuilder(), [], 0
    for size in block_sizes:
        closed += builder.extend(ops[start : start + size])
        start += size
    return [*closed, *filter(None, [builder.flush()])]


@pytest.mark.parametrize("seed", range(6))
def test_blocks_are_cut_where_ops_one_by_one_are_cut(seed: int) -> None:
    rng = random.Random(seed)
    sizes = [rng.choice([rng.randint(20, 400), rng.randint(1, MAX_OP_BYTES)]) for _ in range(3000)]
    ops = ops_of_sizes(sizes)
    blocks = [rng.choice([0, 1, 7, 500, 2000]) for _ in range(40)]
    blocks.append(len(ops) - sum(blocks) if sum(blocks) < len(ops) else 0)
    expected = one_by_one(ops)
    assert shape(in_blocks(ops, blocks)) == shape(expected)
    assert len(expected) > 10 and all(batch.size <= MAX_BATCH_BYTES for batch in expected)


def test_a_batch_is_exactly_full_at_the_limit() -> None:
    exact = MAX_BATCH_BYTES - ENVELOPE_BYTES - 20_000  # 20,000 bytes of ops plus their commas fill the rest
    sizes = [exact, *[1999] * 10, 1]
    batches = in_blocks(ops_of_sizes(sizes), [len(sizes)])
    assert shape(batches) == shape(one_by_one(ops_of_sizes(sizes)))
    assert batches[0].size == MAX_BATCH_BYTES and len(batches[0].ops) == 11


def as_block(ops: list[Op]) -> OpBlock:
    return OpBlock(
        [op.body for op in ops], [op.first_row for op in ops], [op.identifier for op in ops], [op.key for op in ops]
    )


@pytest.mark.parametrize("seed", range(4))
def test_op_blocks_are_cut_where_their_ops_one_by_one_are_cut_and_give_them_back_in_order(seed: int) -> None:
    """What the column path builds (an ``OpBlock`` a block of rows) is batched as it is, mixed with ops that
    came one by one (a block that went row by row), and each batch gives back the same ops, bytes and rows."""
    rng = random.Random(seed)
    ops = [Op(b"y" * rng.randint(20, 4000), row, 1, f"id{row}", f"key{row}") for row in range(1, 2001)]
    builder, closed, start = BatchBuilder(), [], 0
    while start < len(ops):
        size = rng.choice([1, 3, 250, 700])
        part = ops[start : start + size]
        closed += builder.extend(as_block(part) if rng.random() < 0.7 else part)
        if rng.random() < 0.2 and (full := builder.add(Op(b"z" * 30, 0, 1, "", ""))) is not None:
            closed.append(full)
        start += size
    batches = [*closed, *filter(None, [builder.flush()])]

    expected = one_by_one([op for batch in batches for op in batch.ops])
    assert shape(batches) == shape(expected)
    assert [op for batch in batches for op in batch.ops if op.first_row] == ops
    assert all(batch.bodies == [op.body for op in batch.ops] for batch in batches)
    assert all(batch.count == len(batch.ops) for batch in batches)
    assert len(batches) > 5
