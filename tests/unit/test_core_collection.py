"""The bulk-load pause of the garbage collector: paused inside, resumed after,
young collections on budget, nesting resumes once."""

from __future__ import annotations

import gc

from inspector.core.collection import BulkLoad


def test_collection_is_paused_during_a_load_and_resumed_after() -> None:
    assert gc.isenabled()
    with BulkLoad(freeze=False) as load:
        assert not gc.isenabled()
        with BulkLoad(freeze=False):
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner load leaves the outer one paused
        load.tick()
    assert gc.isenabled()


def test_a_spent_budget_runs_a_young_collection() -> None:
    with BulkLoad(budget=10, freeze=False) as load:
        garbage = [[i] for i in range(1000)]
        load.tick()
        assert load.collections == 1
        del garbage
    assert gc.isenabled()


def test_the_collector_stays_off_if_it_was_off() -> None:
    gc.disable()
    try:
        with BulkLoad(freeze=False):
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
