"""Garbage-collector discipline for bulk loads.

Reading a hundred thousand sessions allocates millions of small containers
(replies, dicts, sessions). CPython's collector runs a young collection every
700 of them and, every so often, a full one that walks every object alive:
the imported modules, and in the TUI the whole index. Measured on the session
scan that was up to half of the client's cost (shared/reference/perf-notes.md).
None of the objects a load creates form cycles the refcounts cannot free, so
during a load the automatic collector is paused, and a young collection is
run by hand every ``budget`` net allocations, which bounds what cyclic
garbage could pile up. What is alive when the load starts is frozen first
(``gc.freeze``): it is long-lived, and no later collection walks it again.
"""

from __future__ import annotations

import gc
from types import TracebackType

__all__ = ["DEFAULT_BUDGET", "BulkLoad"]

DEFAULT_BUDGET = 200_000
"""Net container allocations between two young collections during a load."""

_depth = 0  # loads in progress (a scan inside a scan resumes collection once)


class BulkLoad:
    """Pause automatic collection for a bulk load, with a bounded budget.

    Use as a context manager and call :meth:`tick` now and then (once per batch):
    it runs a young collection when ``budget`` net allocations have passed.

    Args:
        budget: Net allocations of tracked objects between two collections.
        freeze: Freeze what is alive at the start (long-lived: modules, an index).
    """

    def __init__(self, budget: int = DEFAULT_BUDGET, *, freeze: bool = True) -> None:
        self.budget = budget
        self.freeze = freeze
        self.collections = 0
        self._resume = False

    def __enter__(self) -> BulkLoad:
        global _depth
        if self.freeze:
            gc.freeze()
        if _depth == 0 and gc.isenabled():
            gc.disable()
            self._resume = True
        _depth += 1
        return self

    def tick(self) -> None:
        """Collect the young generations if the budget is spent."""
        if gc.get_count()[0] >= self.budget:
            gc.collect(1)
            self.collections += 1

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        global _depth
        _depth -= 1
        if self._resume:
            self._resume = False
            gc.enable()
