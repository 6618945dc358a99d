"""The cyclic garbage collector, tuned for a long-running server and for bulk commands.

Measured (docs/PERFORMANCE.md): with Python's defaults, a collection of the oldest
generation walks every object the process holds (FastAPI, pydantic, SQLAlchemy: some
hundreds of thousands) and stalls the event loop for tens of milliseconds, which set the
ingest p99; the youngest generation, collected every 700 allocations, cost about a tenth
of the throughput. `gc.freeze()` moves what startup built out of the collector's sight
(https://docs.python.org/3/library/gc.html#gc.freeze), and a larger first threshold
collects the short-lived request garbage less often. Nothing is leaked: cycles are still
collected, only later.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNGEST_THRESHOLD = 20_000


def tune_for_serving() -> None:
    gc.collect()
    gc.freeze()
    _raise_youngest_threshold()


@contextmanager
def building_large_tree() -> Iterator[None]:
    """For building one large tree of plain objects that holds no cycles (a parsed
    export: dicts, lists, strings). With the collector on, every collection while it
    grows walks all of it so far, for nothing: parsing a 16 MB export took 0.60 s
    instead of 0.25 s. Afterwards the tree is frozen, out of later collections' sight
    (it is still freed by reference counting), and the youngest threshold raised as for
    serving."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.freeze()
        _raise_youngest_threshold()


def _raise_youngest_threshold() -> None:
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNGEST_THRESHOLD, middle, oldest)
