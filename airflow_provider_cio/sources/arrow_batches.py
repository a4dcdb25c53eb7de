"""A result's Arrow batches taken as the sync asks for rows: the reading the Arrow readers share (Snowflake's
``fetch_arrow_batches``, DuckDB's ``to_arrow_reader``).

A batch holds as many rows as the database chose; the sync asks for ``fetch_size`` rows at a time. This takes
the next batch only when the rows asked for go beyond the current one, and hands over slices of the batches
(no copy), so memory holds a batch or two whatever the result's size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ArrowBatches:
    """Slices of a result's Arrow batches (tables or record batches), read lazily.

    :param next_batch: takes the result's next batch (None at the end), e.g. through the stream's call thread.
    """

    def __init__(self, next_batch: Callable[[], Any]) -> None:
        self._next_batch = next_batch
        self._batch: Any = None
        self._offset = 0
        self._ended = False

    def take(self, size: int) -> list[Any]:
        """The next ``size`` rows at most, as slices of the batches in order (none at the end)."""
        pieces = []
        wanted = size
        while wanted > 0 and self._batch_at_hand():
            piece = self._batch.slice(self._offset, wanted)
            self._offset += piece.num_rows
            wanted -= piece.num_rows
            pieces.append(piece)
        return pieces

    def _batch_at_hand(self) -> bool:
        """Whether a batch with rows left is at hand, taking the next batch when the current one is read."""
        while not self._ended and (self._batch is None or self._offset >= self._batch.num_rows):
            self._batch = self._next_batch()
            self._offset = 0
            self._ended = self._batch is None
        return not self._ended
