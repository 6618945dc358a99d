"""A ChatGPT export read and prepared in a worker process
(`python -m infrastructure.chatgpt.worker`, which says why and what it sends).

`prepared_export` starts the worker and returns once the whole file is parsed: with the
export's counts, or raising `ChatGPTExportError` for a file that is not an export. The
batches then arrive while the caller stores the ones before: the worker runs ahead as
far as the pipe lets it. The worker is a fresh interpreter importing only the standard
library and `domain` (fork would copy a process running aiosqlite's threads).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import marshal
import pickle
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from domain.message_events import PreparedMessage
from infrastructure.chatgpt.export import ChatGPTExport, ChatGPTExportError
from infrastructure.chatgpt.worker import from_wire

WORKER_MODULE = "infrastructure.chatgpt.worker"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The reader takes up to twice this from the pipe before it waits: with the pipe's own
# 1 MiB (worker._widen), the worker runs up to ~8 batches of 500 ahead.
_READ_BUFFER = 2**20


class ExportReaderFailed(Exception):
    """The worker stopped before the end of the export (killed, out of memory, a bug)."""


class PreparedExport:
    def __init__(
        self,
        process: asyncio.subprocess.Process,
        export: ChatGPTExport,
        count: int,
        errors: asyncio.Task[bytes],
    ) -> None:
        self.export = export  # the counts; its messages come as `batches`
        self.count = count
        self._process = process
        self._errors = errors

    @property
    def worker_pid(self) -> int:
        return self._process.pid

    async def batches(self) -> AsyncIterator[list[PreparedMessage]]:
        while body := await _frame(self._process):
            yield [from_wire(wire) for wire in marshal.loads(body)]
        if body is None or await self._process.wait():
            raise await _failed(self._process, self._errors)


@contextlib.asynccontextmanager
async def prepared_export(
    path: Path, *, batch_size: int, context: Mapping[str, Any]
) -> AsyncIterator[PreparedExport]:
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            WORKER_MODULE,
            str(path),
            str(batch_size),
            json.dumps(dict(context)),
            cwd=_PROJECT_ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=_READ_BUFFER,
        )
    except OSError as e:
        raise ExportReaderFailed(f"cannot start the export reader: {e}") from e
    assert process.stderr is not None
    errors = asyncio.create_task(process.stderr.read())
    try:
        body = await _frame(process)
        # The worker is this project's own code, started by this process.
        first = pickle.loads(body) if body else None  # noqa: S301
        if first is not None and first[0] == "refused":
            raise ChatGPTExportError(first[1])
        if first is None or first[0] != "export":
            raise await _failed(process, errors)
        yield PreparedExport(process, first[1], first[2], errors)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # it has just ended
                process.kill()
        await process.wait()
        await errors


async def _frame(process: asyncio.subprocess.Process) -> bytes | None:
    """The body of the worker's next frame; None if its output ends first."""
    assert process.stdout is not None
    try:
        size = int.from_bytes(await process.stdout.readexactly(4), "big")
        return await process.stdout.readexactly(size)
    except asyncio.IncompleteReadError:
        return None


async def _failed(
    process: asyncio.subprocess.Process, errors: asyncio.Task[bytes]
) -> ExportReaderFailed:
    status = await process.wait()
    said = (await errors).decode(errors="replace").strip().splitlines()
    return ExportReaderFailed(
        f"the export reader stopped (exit status {status})" + (f": {said[-1]}" if said else "")
    )
