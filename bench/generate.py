"""Fill a migrated database with short message events, fast: not over HTTP, but with the
project's own code, in large batches (one write unit of work each), in one of two ways:

- `store` (default): the container's unit of work and event store directly. Plain
  messages are sealed into `message.ingested` events shaped as `IngestService` shapes
  them (payload, `request_hash`, channel and request id) and appended many per
  statement; a prefixed message goes through the rules extractor and the domain's own
  `deriving` follow-up, as in ingest, so its todo or note and their read-model rows are
  written by the domain code. Messages carry no idempotency key, as on the HTTP load.
- `ingest`: `IngestService.ingest_batch`, exactly the service's bulk path; slower while
  that path appends one statement per message.

Either way `make verify` checks the chain it leaves. `python -m bench.generate --events N`
with HELIONYX_DATABASE_URL (and the rest of the service's environment) set; prints one
JSON line: {"events", "seconds", "events_per_s", "via"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

from app.config import load_settings
from app.container import Container, build_container, close_container
from bench.messages import short_text
from domain.derivation import deriving
from domain.events import NewEvent
from domain.messages import MESSAGE_INGESTED, IncomingMessage

Batch = Callable[[Container, list[IncomingMessage], dict[str, str]], Awaitable[None]]


async def via_ingest(
    container: Container, messages: list[IncomingMessage], context: dict[str, str]
) -> None:
    await container.ingest_service().ingest_batch(
        messages, context=context, extractor=container.rules_extractor()
    )


async def via_store(
    container: Container, messages: list[IncomingMessage], context: dict[str, str]
) -> None:
    extractor = container.rules_extractor()
    today = container.clock().now().date()
    async with container.uow_factory()(write=True) as uow:
        plain: list[NewEvent] = []
        for message in messages:
            new = NewEvent(
                type=MESSAGE_INGESTED,
                aggregate_type="message",
                aggregate_id=str(uuid.uuid4()),
                payload=message.payload(),
                metadata={**context, "request_hash": message.fingerprint()},
            )
            extraction = await extractor.extract(message.text, today=today)
            if not extraction.items:
                plain.append(new)
                continue
            await uow.events.append(plain)
            plain = []
            [event] = await uow.events.append([new])
            await deriving(extraction)(uow, event)
        await uow.events.append(plain)
        await uow.commit()


WAYS: dict[str, Batch] = {"store": via_store, "ingest": via_ingest}


async def fill(container: Container, events: int, batch: int, way: Batch) -> int:
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
        await way(container, messages, {"channel": "http-batch", "request_id": uuid.uuid4().hex})
        added = (await log.head()).count - start
        if time.monotonic() - reported > 15:
            reported = time.monotonic()
            print(f"generate: {added:,} of {events:,} events", file=sys.stderr, flush=True)
    return added


async def main_async(events: int, batch: int, via: str) -> dict[str, float | str]:
    container = build_container(load_settings("dev"))
    try:
        started = time.perf_counter()
        added = await fill(container, events, batch, WAYS[via])
        seconds = time.perf_counter() - started
    finally:
        await close_container(container)
    return {"events": added, "seconds": seconds, "events_per_s": added / seconds, "via": via}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--batch", type=int, default=5000, help="messages per transaction")
    parser.add_argument("--via", choices=sorted(WAYS), default="store")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(main_async(args.events, args.batch, args.via))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
