"""Op builders that wrap another one, and the one extra thing a builder may do: split a refused op.

A wrapper (the raw-column conversion, the mirror's change filter) subclasses :class:`WrappingBuilder`:
what the builder it wraps can do beyond building, the wrapper does too, through methods that mypy
checks against :class:`SplittingBuilder`. A new wrapper cannot lose per-row splitting by forgetting
to copy a method.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from airflow_provider_cio.sync.account.outcomes import OpError, RowError
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.records.ops import OpBuilder


@runtime_checkable
class SplittingBuilder(OpBuilder, Protocol):
    """An op builder that can take back a refused op of several rows (``RelationshipOps``)."""

    def split(self, op: Op, refusal: OpError) -> list[Op]:
        """Ops to send instead of ``op``, refused for ``refusal`` (one per row, say); none to keep it failed."""
        ...


class WrappingBuilder(SplittingBuilder):
    """The base of an op builder that hands its rows on to another one (``inner``).

    It keys and splits as ``inner`` does; a subclass defines :meth:`build` (and :meth:`finish` when it
    holds ops of its own).

    :param inner: the builder of the query's import type, or another wrapper.
    """

    def __init__(self, inner: OpBuilder) -> None:
        self.inner = inner
        self.unique_keys = inner.unique_keys

    def finish(self) -> Iterator[Op | RowError]:
        """The inner builder's held op."""
        return iter(self.inner.finish())

    def split(self, op: Op, refusal: OpError) -> list[Op]:
        """The inner builder's split of a refused op; none (the op stays failed) when it cannot split."""
        inner = self.inner
        return inner.split(op, refusal) if isinstance(inner, SplittingBuilder) else []
