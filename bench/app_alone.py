"""The service with nothing stored: what its HTTP layer costs on its own, so that a run can
say how fast ingest could be if storing were free.

The service's own app (`app.api.app.create_app`: its middlewares, bearer check, wiring,
route, body parsing and answer) on its container, with one provider overridden, as the
tests override providers: `ingest_service` answers every message with an event it makes
up, stores nothing and reads nothing. Served as bench/bare_app.py is, in a process of its
own: `python -m bench.app_alone --port N` with the service's environment (a migrated
database in HELIONYX_DATABASE_URL, which only /health/ready reads).

With bench/ingest_alone.py (the ingest service on the same database engine, without
HTTP) it gives the bound `make bench` holds single-message ingest against: the two run
one after the other on one event loop, so a request costs at least the sum of the two.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dependency_injector import providers

from app.api.app import create_app
from app.config import load_settings
from app.container import build_container
from bench.bare_app import serve
from domain.events import RecordedEvent
from domain.ingest import IngestResult
from domain.messages import IncomingMessage


class NothingStored:
    """IngestService's `ingest` as the route calls it, answering at once."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)

    async def ingest(
        self,
        message: IncomingMessage,
        *,
        idempotency_key: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> IngestResult:
        now = datetime.now(UTC)
        event = RecordedEvent(
            seq=next(self._seq),
            event_id=str(uuid.uuid4()),
            type="message.ingested",
            aggregate_type="message",
            aggregate_id=str(uuid.uuid4()),
            payload={"text": message.text},
            metadata={},
            idempotency_key=idempotency_key,
            occurred_at=now,
            recorded_at=now,
            schema_version=1,
            prev_hash="0" * 64,
            hash="0" * 64,
        )
        return IngestResult(event)

    async def ingest_batch(self, messages: Sequence[IncomingMessage], **_: Any) -> list[Any]:
        raise NotImplementedError("single messages only")

    async def close(self) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.app_alone", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    container = build_container(load_settings("dev"))
    container.ingest_service.override(providers.Object(NothingStored()))
    serve(create_app(container), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
