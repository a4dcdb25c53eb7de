"""The sync's Bloom filter never misses a key it holds: a row that repeats an identifier is always caught."""

from __future__ import annotations

import numpy as np

from airflow_provider_cio.sync.duplicates.bloom import BlockBloom


def hashes_of(keys: list[str]) -> np.ndarray:
    return np.fromiter(map(hash, keys), dtype=np.int64, count=len(keys)).view(np.uint64)


def test_every_key_seen_before_is_maybe_seen_and_new_keys_rarely_are() -> None:
    bloom = BlockBloom(1_000_000, 0.01)
    blocks = [[f"user{n}@example.com" for n in range(start, start + 5000)] for start in range(0, 200_000, 5000)]
    false_alarms = sum(int(bloom.add_new(hashes_of(block)).sum()) for block in blocks)
    assert false_alarms < 200  # of 200,000 new keys
    for block in blocks:
        assert bloom.add_new(hashes_of(block)).all()


def test_a_key_repeated_within_a_block_is_maybe_seen_from_its_second_time_on() -> None:
    bloom = BlockBloom(1000, 0.01)
    maybe = bloom.add_new(hashes_of(["b", "a", "b", "c", "a", "b"]))
    assert maybe.tolist() == [False, False, True, False, True, True]
    assert bloom.add_new(hashes_of(["c", "a", "b"])).all()
