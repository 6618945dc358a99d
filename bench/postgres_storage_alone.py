"""`python -m bench.postgres_storage_alone SOURCE TARGET SIZE`: PostgreSQL's own share of
`/ingest/batch`. The rows the batch phase left in SOURCE (the log, the idempotency records
and the messages' search rows) are written again into TARGET, a migrated, empty database,
SIZE events a transaction as the batches committed, by asyncpg alone with the service's
durability (`synchronous_commit=on`): the events and the idempotency records by COPY, the
search rows in one INSERT ... unnest a transaction, as the service writes them. Reading
SOURCE is not timed; nothing is parsed, sealed or derived.

Prints one JSON line: {"events", "rows", "seconds"}: no batch ingest on PostgreSQL can
store faster here, whatever it does in Python (bench/README.md).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import asyncpg

_SEARCH = (
    "INSERT INTO search_messages (seq, document) "
    "SELECT unnest($1::bigint[]), unnest($2::text[])::tsvector"
)


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def read_rows(source: str) -> dict[str, Any]:
    conn = await asyncpg.connect(_dsn(source))
    try:
        events = await conn.fetch("SELECT * FROM events ORDER BY seq")
        keys = await conn.fetch("SELECT * FROM idempotency_records ORDER BY event_seq")
        search = await conn.fetch("SELECT seq, document::text FROM search_messages ORDER BY seq")
        return {
            "events": [tuple(r) for r in events],
            "event_columns": list(events[0].keys()) if events else [],
            "keys": [tuple(r) for r in keys],
            "key_columns": list(keys[0].keys()) if keys else [],
            "search": [tuple(r) for r in search],
        }
    finally:
        await conn.close()


async def store(target: str, rows: dict[str, Any], size: int) -> float:
    conn = await asyncpg.connect(_dsn(target), server_settings={"synchronous_commit": "on"})
    try:
        parts = _parts(rows, size)
        started = time.perf_counter()
        for part, keys, seqs, documents in parts:
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "events", records=part, columns=rows["event_columns"]
                )
                if keys:
                    await conn.copy_records_to_table(
                        "idempotency_records", records=keys, columns=rows["key_columns"]
                    )
                await conn.execute(_SEARCH, seqs, documents)
        return time.perf_counter() - started
    finally:
        await conn.close()


def _parts(
    rows: dict[str, Any], size: int
) -> list[tuple[list[Any], list[Any], list[int], list[str]]]:
    """Each transaction's rows: `size` events, and the keys and search rows of their seqs."""
    keys_of: dict[int, list[Any]] = {}
    for key in rows["keys"]:
        keys_of.setdefault(key[1], []).append(key)
    search = dict(rows["search"])
    parts = []
    for start in range(0, len(rows["events"]), size):
        part = rows["events"][start : start + size]
        seqs = [event[0] for event in part if event[0] in search]
        parts.append(
            (
                part,
                [k for event in part for k in keys_of.get(event[0], ())],
                seqs,
                [search[seq] for seq in seqs],
            )
        )
    return parts


def main(argv: list[str]) -> int:
    if len(argv) != 3 or not argv[2].isdigit() or int(argv[2]) < 1:
        print("usage: python -m bench.postgres_storage_alone SOURCE TARGET SIZE", file=sys.stderr)
        return 2
    rows = asyncio.run(read_rows(argv[0]))
    seconds = asyncio.run(store(argv[1], rows, int(argv[2])))
    count = len(rows["events"]) + len(rows["keys"]) + len(rows["search"])
    print(json.dumps({"events": len(rows["events"]), "rows": count, "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
