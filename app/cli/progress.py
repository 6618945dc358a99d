"""Progress of a long command (import-chatgpt, rebuild, verify), shown on stderr.

On a terminal: a rich bar with count, rate and ETA. Otherwise (CI, a pipe, a log file):
a plain line every `interval` seconds or 10% of the total, whichever comes first, such as
"import-chatgpt: 4000/10000 (40%), 2100/s, eta 3s". The one-line summary at the end is
the caller's, on stdout, so stdout stays clean for scripts.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text


class Progress:
    def __init__(
        self,
        label: str,
        total: int,
        *,
        stream: TextIO | None = None,
        tty: bool | None = None,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty() if tty is None else tty
        self._interval = interval
        self._clock = clock
        self._started = self._last_line = clock()
        self._last_tenth = 0
        self._bar: RichProgress | None = None

    def __enter__(self) -> Progress:
        if self._tty:
            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                _RateColumn(),
                TimeRemainingColumn(),
                console=Console(file=self._stream),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            return
        now = self._clock()
        tenth = self.done * 10 // self.total if self.total else 10
        if now - self._last_line >= self._interval or tenth > self._last_tenth:
            self._last_line, self._last_tenth = now, tenth
            self._write_line(now)

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    @property
    def rate(self) -> float:
        elapsed = self.elapsed
        return self.done / elapsed if elapsed > 0 else 0.0

    def _write_line(self, now: float) -> None:
        elapsed = now - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        percent = self.done * 100 // self.total if self.total else 100
        shown = f"{rate:.0f}" if rate >= 10 or rate == 0 else f"{rate:.1f}"
        line = f"{self.label}: {self.done}/{self.total} ({percent}%), {shown}/s"
        if rate > 0 and self.done < self.total:
            line += f", eta {(self.total - self.done) / rate:.0f}s"
        print(line, file=self._stream, flush=True)


class _RateColumn(ProgressColumn):
    """Items per second; rich's own speed column counts bytes."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "-/s", style="progress.data.speed")
