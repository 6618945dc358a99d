"""Fill a migrated database with short message events, fast: not over HTTP, but through
the service's own bulk path (`IngestService.ingest_batch`, what /ingest/batch and the
ChatGPT import use), in large batches, one write unit of work each. Messages carry no
idempotency key, as on the HTTP load; one in 50 has a `todo:` or `note:` prefix, so the
rules extractor derives a todo or a note from it, with its read-model row.

`make verify` then checks the chain it leaves. `python -m bench.generate --events N` with
HELIONYX_DATABASE_URL (and the rest of the service's environment) set; prints one JSON
line: {"events", "seconds", "events_per_s"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid

from app.config import load_settings
from app.container import Container, build_container, close_container
from bench.messages import short_text
from domain.messages import IncomingMessage


async def ingest(
    container: Container, messages: list[IncomingMessage], context: dict[str, str]
) -> None:
    await container.ingest_service().ingest_batch(
        messages, context=context, extractor=container.rules_extractor()
    )


async def fill(container: Container, events: int, batch: int) -> int:
    """Store messages until the log holds at least `events` more; returns how many were
    added (a derived event can take it a little past the count)."""
    log = container.event_log()
    start = (await log.head()).count
    added = index = 0
    reported = time.monotonic()
    while added < events:
        size = min(batch, events - added)
        messages = [IncomingMessage(text=short_text(index + k)) for k in range(size)]
        index += size
        await ingest(container, messages, {"channel": "http-batch", "request_id": uuid.uuid4().hex})
        added = (await log.head()).count - start
        if time.monotonic() - reported > 15:
            reported = time.monotonic()
            print(f"generate: {added:,} of {events:,} events", file=sys.stderr, flush=True)
    return added


async def main_async(events: int, batch: int) -> dict[str, float]:
    container = build_container(load_settings("dev"))
    try:
        started = time.perf_counter()
        added = await fill(container, events, batch)
        seconds = time.perf_counter() - started
    finally:
        await close_container(container)
    return {"events": added, "seconds": seconds, "events_per_s": added / seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--batch", type=int, default=5000, help="messages per transaction")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(main_async(args.events, args.batch))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
