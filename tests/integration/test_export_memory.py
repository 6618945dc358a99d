"""The export streams: the exporting process's peak memory does not grow with the log.

`python -m app.cli export` runs as a process of its own on a 10,000-event log, then on
the same log grown to 100,000 events; its peak resident set (VmHWM, as the process reads
it from /proc/self/status at exit) may grow by at most 20 MB. Held whole, the 100,000
events took ~770 MB (measured with one page for the whole log); streamed, ~105 MB either
way, which is the process's own imports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT
from domain.clock import SystemClock
from domain.events import NewEvent
from infrastructure.database import create_engine
from infrastructure.log_file.reading import LogFileReader
from infrastructure.migrate import upgrade
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests import conftest

SMALL, LARGE = 10_000, 100_000
MAX_GROWTH_KB = 20 * 1024
METADATA = {"channel": "http", "request_id": "r-0123456789abcdef"}


async def append_messages(url: str, first: int, upto: int) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine, "dev")
        factory = SqlUnitOfWorkFactory(engine, SystemClock())
        for start in range(first, upto, 10_000):
            async with factory(write=True) as uow:
                await uow.events.append(
                    [
                        NewEvent(
                            "message.ingested",
                            "message",
                            f"m-{n}",
                            {
                                "text": f"message {n}: café, Привет 🎉, words to make it longer",
                                "source": "api",
                                "n": n * 1.5e10,
                            },
                            METADATA,
                            idempotency_key=f"key-{n}",
                        )
                        for n in range(start, min(upto, start + 10_000))
                    ]
                )
                await uow.commit()
    finally:
        await engine.dispose()


# The command as `python -m app.cli` runs it, telling its peak resident set (VmHWM: of
# this process image alone, unlike ru_maxrss, which also counts the copy of the forking
# parent that ran before exec) on stderr as it exits.
PEAK_REPORTER = """
import atexit, runpy, sys
def peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write("PEAK_KB " + line.split()[1] + "\\n")
atexit.register(peak)
sys.argv = ["app.cli", *sys.argv[1:]]
runpy.run_module("app.cli", run_name="__main__", alter_sys=True)
"""


def export_peak_kb(url: str, out: Path) -> tuple[int, float]:
    """The exporting process's peak RSS (KiB) and its run time."""
    environ = {**os.environ, **conftest.test_environ(url)}
    environ.pop("ENV", None)
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", PEAK_REPORTER, "--env", "dev", "export", "--out", str(out)],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    assert run.returncode == 0, run.stderr
    [peak] = [line.split()[1] for line in run.stderr.splitlines() if line.startswith("PEAK_KB ")]
    return int(peak), elapsed


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
async def test_peak_memory_does_not_grow_with_the_log(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'large.db'}"
    await append_messages(url, 0, SMALL)
    small_kb, _ = export_peak_kb(url, tmp_path / "small.jsonl")
    await append_messages(url, SMALL, LARGE)
    large_kb, elapsed = export_peak_kb(url, tmp_path / "large.jsonl")

    with (tmp_path / "large.jsonl").open("rb") as stream:
        assert LogFileReader(stream).header.events == LARGE
    size_mb = (tmp_path / "large.jsonl").stat().st_size / 2**20
    print(
        f"\nexport peak RSS: {SMALL} events {small_kb / 1024:.1f} MiB, {LARGE} events "
        f"{large_kb / 1024:.1f} MiB (file {size_mb:.0f} MiB, {elapsed:.1f} s with start-up)"
    )
    assert large_kb - small_kb < MAX_GROWTH_KB, (small_kb, large_kb)
    assert (tmp_path / "large.jsonl").stat().st_mode & 0o777 == 0o600
