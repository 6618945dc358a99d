"""The collector's settings once a process has started: what startup built is frozen
out of later collections' sight, and the youngest generation is collected less often."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.gc_tuning import YOUNGEST_THRESHOLD, tune_after_startup


@pytest.fixture(autouse=True)
def restore_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_what_startup_built_is_frozen_and_the_youngest_threshold_raised():
    built = [{"node": [str(i)]} for i in range(1000)]
    frozen_before = gc.get_freeze_count()
    tune_after_startup()
    assert gc.get_freeze_count() >= frozen_before + len(built)
    assert gc.get_threshold()[0] == YOUNGEST_THRESHOLD
