"""`make verify` on a SQLite file: the chain checked in ranges, one worker process per core.

Verify is bound by the CPU (read each row, spell the text its hash covers, hash it), and
one Python process uses one core. So the log up to the head read at the start (rows up to
it never change: the triggers refuse it) is cut into seq ranges, handed in seq order to
whichever of the workers (`python -m infrastructure.sqlite.chain_worker`, running
infrastructure/sqlite/chain_scan.py) is free, and their reports are joined: every range is
checked, each links to the last row of the ones before, and their problems, in seq order,
are the log's. Workers are fresh interpreters that import only the standard library and
`domain` (~50 ms): fork would copy a process that runs aiosqlite's threads, and spawn
would import the CLI again (~1 s per worker). A small log is checked in this process,
with the same scan.

SQLite in memory (no file to scan) is verified by `EventLog.verify`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from domain.chain import GENESIS_HASH, LINK, ChainProblem, ChainReport
from domain.errors import StorageUnavailable
from domain.event_log import Progress
from domain.events import LogHead
from infrastructure.sqlite import chain_scan as sqlite_chain_scan

WORKER_MODULE = "infrastructure.sqlite.chain_worker"
IN_PROCESS_BELOW = 50_000
# Smaller ranges than one per worker, each to whichever worker is free: when another
# process takes a core for a while, the other worker takes more of the log.
RANGES_PER_WORKER = 4
_PROJECT_ROOT = Path(__file__).resolve().parents[2]

Range = tuple[int, int]
RangeResult = tuple[ChainReport, str]


class ChainCheckFailed(StorageUnavailable):
    """Part of the chain could not be checked (the file, a worker): no verdict."""


class ParallelSqliteChainVerification:
    def __init__(
        self,
        path: Path,
        *,
        workers: int | None = None,
        in_process_below: int = IN_PROCESS_BELOW,
        ranges_per_worker: int = RANGES_PER_WORKER,
        worker_command: Sequence[str] = (sys.executable, "-m", WORKER_MODULE),
    ) -> None:
        self._path = path
        self._workers = workers or os.cpu_count() or 1
        self._in_process_below = in_process_below
        self._ranges_per_worker = ranges_per_worker
        self._worker_command = tuple(worker_command)

    async def head(self) -> LogHead:
        try:
            return await asyncio.to_thread(sqlite_chain_scan.read_head, self._path)
        except sqlite3.Error as e:
            raise ChainCheckFailed(f"cannot read the event log in {self._path}: {e}") from e

    async def verify(self, *, progress: Progress | None = None) -> ChainReport:
        head = (await self.head()).last_seq
        if head == 0:
            return ChainReport(0, 0, GENESIS_HASH)
        if head < self._in_process_below or self._workers == 1:
            return (await self._in_process(head, progress))[0]
        ranges = split(head, self._workers * self._ranges_per_worker)
        return stitch(ranges, await self._in_workers(ranges, progress))

    async def _in_process(self, head: int, progress: Progress | None) -> RangeResult:
        try:
            return await asyncio.to_thread(
                sqlite_chain_scan.scan_range, self._path, 1, head, progress=progress
            )
        except sqlite3.Error as e:
            raise ChainCheckFailed(f"cannot check the event log in {self._path}: {e}") from e

    async def _in_workers(
        self, ranges: list[Range], progress: Progress | None
    ) -> list[RangeResult]:
        """Each range's result: ranges are handed out in seq order to whichever worker is
        free."""
        schedule = _Schedule(ranges)
        workers: list[_Worker] = []
        drives: list[asyncio.Task[None]] = []
        try:
            for _ in range(min(self._workers, len(ranges))):
                workers.append(await self._start())
                drives.append(asyncio.create_task(workers[-1].drive(schedule, progress)))
            await asyncio.gather(*drives)
        finally:
            for worker in workers:
                worker.stop()
            for drive in drives:
                drive.cancel()
            await asyncio.gather(
                *drives, *(worker.process.wait() for worker in workers), return_exceptions=True
            )
        return schedule.checked()

    async def _start(self) -> _Worker:
        try:
            process = await asyncio.create_subprocess_exec(
                *self._worker_command,
                str(self._path),
                cwd=_PROJECT_ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as e:
            raise ChainCheckFailed(f"cannot start a worker ({self._worker_command[0]}): {e}") from e
        return _Worker(process, self._path)


class _Schedule:
    """The ranges to check, handed out in seq order, and their results."""

    def __init__(self, ranges: list[Range]) -> None:
        self.ranges = ranges
        self.results: list[RangeResult | None] = [None] * len(ranges)
        self._next = 0

    def take(self) -> int | None:
        """The next range to check; None once none is left."""
        if self._next >= len(self.ranges):
            return None
        self._next += 1
        return self._next - 1

    def done(self, index: int, result: RangeResult) -> None:
        self.results[index] = result

    def checked(self) -> list[RangeResult]:
        """Every range's result (the workers only end when none is left to take)."""
        assert all(result is not None for result in self.results)
        return self.results  # type: ignore[return-value]


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process, path: Path) -> None:
        assert process.stdin and process.stdout and process.stderr
        self.process = process
        self._path = path
        self._errors = asyncio.create_task(process.stderr.read())

    async def drive(self, schedule: _Schedule, progress: Progress | None) -> None:
        """Check ranges from `schedule` until none is left, then let the worker end."""
        assert self.process.stdin
        while (index := schedule.take()) is not None:
            lo, hi = schedule.ranges[index]
            with contextlib.suppress(ConnectionError):  # it has ended: its output says how
                self.process.stdin.write(b"%d %d\n" % (lo, hi))
                await self.process.stdin.drain()
            schedule.done(index, await self._result(lo, hi, await self._report(progress)))
        self.process.stdin.close()
        if status := await self.process.wait():
            raise await self._failed("its last ranges", f"exit status {status}")

    async def _report(self, progress: Progress | None) -> bytes:
        """The next report line, its progress lines fed to `progress` on the way; b"" if
        the worker ends first."""
        assert self.process.stdout
        async for line in self.process.stdout:
            if not line.startswith(b"progress "):
                return line
            if progress:
                progress(int(line.removeprefix(b"progress ")))
        return b""

    async def _result(self, lo: int, hi: int, line: bytes) -> RangeResult:
        try:
            found = json.loads(line)
            start_hash = found.pop("start_hash")
            problems = tuple(ChainProblem(**problem) for problem in found.pop("problems"))
            return ChainReport(**found, problems=problems), start_hash
        except (ValueError, KeyError, TypeError) as e:
            status = await self.process.wait()
            raise await self._failed(f"seqs {lo}..{hi}", f"exit status {status}: {e}") from e

    async def _failed(self, what: str, why: str) -> ChainCheckFailed:
        errors = (await self._errors).decode(errors="replace").strip()[-2000:]
        return ChainCheckFailed(
            f"the worker checking {what} of {self._path} failed "
            f"({why}){': ' + errors if errors else ''}"
        )

    def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # it has just ended
                self.process.kill()


def split(head: int, parts: int) -> list[Range]:
    """1..head in `parts` ranges of (nearly) equal size; fewer when there are fewer seqs."""
    parts = max(1, min(parts, head))
    bounds = [1 + head * part // parts for part in range(parts + 1)]
    return [(lo, hi - 1) for lo, hi in zip(bounds, bounds[1:], strict=False)]


def stitch(ranges: list[Range], results: list[RangeResult]) -> ChainReport:
    """The log's report from its ranges' results, in seq order: counts and problems added
    up. Each range must link to the last row the ranges before it read: it starts from
    that row too (the last one before it), so only a file altered during the check makes
    them differ, a broken link at the range's first seq."""
    count, last_seq, head_hash = 0, 0, GENESIS_HASH
    problems: list[ChainProblem] = []
    total = 0
    for (lo, _), (report, start_hash) in zip(ranges, results, strict=True):
        if start_hash != head_hash:
            problems.append(
                ChainProblem(lo, LINK, f"seq {lo}: prev_hash does not match seq {last_seq}")
            )
            total += 1
        count += report.count
        problems += report.problems
        total += report.problems_total
        last_seq, head_hash = report.last_seq, report.head_hash
    # Each range's problems come after the ones before it (a gap before a range's first
    # row starts after the last row of the range before), but a range's own list is cut
    # at MAX_PROBLEMS_KEPT: sorted, then cut again, the first kept are the log's first.
    problems.sort(key=lambda problem: problem.seq)
    return ChainReport.of(count, last_seq, head_hash, problems, total)
