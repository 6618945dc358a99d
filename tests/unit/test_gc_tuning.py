"""The collector's settings for a bulk command: paused while a large tree is built, then
on again, with the tree frozen out of later collections' sight."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.gc_tuning import YOUNGEST_THRESHOLD, building_large_tree


@pytest.fixture(autouse=True)
def restore_collector() -> Iterator[None]:
    enabled, threshold = gc.isenabled(), gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    gc.enable() if enabled else gc.disable()


def test_the_collector_is_paused_inside_and_the_tree_frozen_after():
    gc.enable()
    frozen_before = gc.get_freeze_count()
    with building_large_tree():
        assert not gc.isenabled()
        tree = [{"node": [str(i)]} for i in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen_before + len(tree)
    assert gc.get_threshold()[0] == YOUNGEST_THRESHOLD


def test_the_collector_is_on_again_after_a_failed_build():
    gc.enable()
    with pytest.raises(ValueError), building_large_tree():
        raise ValueError("not JSON")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    with building_large_tree():
        pass
    assert not gc.isenabled()
