"""The ingest service without HTTP: what storing single messages costs on its own.

`python -m bench.ingest_alone --seconds S --connections N` with the service's environment
(HELIONYX_DATABASE_URL a migrated database): the service's own container, and N tasks on
one event loop that each call `IngestService.ingest` with the next message as the route
would (bench/messages.py's bodies, the route's context), one after another, as the load's
N connections send theirs: group commit, sealing, idempotency, indexing, the COMMIT with
the tier's durability. Prints one JSON line: messages, seconds, messages per second, and
the process's CPU (cores busy on average, and microseconds of CPU per message).

With bench/app_alone.py (the HTTP layer with nothing stored) it gives the bound `make
bench` holds single-message ingest against (bench/scenarios.py `measure_ingest`).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import resource
import sys
import time

from app.config import load_settings
from app.container import build_container, close_container
from bench.messages import short_text
from domain.messages import IncomingMessage


async def measure(seconds: float, connections: int) -> dict[str, float]:
    container = build_container(load_settings("dev"))
    service = container.ingest_service()
    numbers = itertools.count()
    done = 0

    async def writer(deadline: float) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            message = IncomingMessage(text=short_text(next(numbers), plain=True))
            await service.ingest(message, context={"channel": "http", "request_id": "bench"})
            done += 1

    try:
        # A second of the same first: connections opened, statements prepared.
        await asyncio.gather(*(writer(time.perf_counter() + 1) for _ in range(connections)))
        done = 0
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(writer(deadline) for _ in range(connections)))
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_before
    finally:
        await close_container(container)
    return {
        "messages": done,
        "seconds": elapsed,
        "rate": done / elapsed,
        # this process, the driver's threads with it: what one message costs in CPU
        "cores": cpu / elapsed,
        "cpu_us": cpu / done * 1e6 if done else 0.0,
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the process
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.ingest_alone", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(measure(args.seconds, args.connections))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
