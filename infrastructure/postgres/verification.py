"""`make verify` on PostgreSQL: the chain recomputed from the rows as stored.

One read-only REPEATABLE READ transaction, so the whole check sees one snapshot. Each
row's text is spelled from payload and metadata as stored (the canonical JSON that was
hashed, not parsed and spelled again) by `infrastructure.sealing.sealed_text`, and
hashed; a row whose text does not hash right, or that holds the key between metadata and
payload (`SEALED_SPLIT`: the one place where bytes moved from one column into the other
could spell the same text), is read in full and judged by `domain.chain.hash_of`.
"""

from __future__ import annotations

from hashlib import sha256
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.chain import ChainReport, ChainVerifier, iso_utc
from domain.event_log import Progress
from domain.events import LogHead
from infrastructure.postgres.event_store import PostgresEventStore
from infrastructure.sealing import SEALED_SPLIT, sealed_text
from infrastructure.tables import STORED_EVENT_COLUMNS, events

PAGE_SIZE = 5_000
_SEALED = select(*STORED_EVENT_COLUMNS).order_by(events.c.seq)


class PostgresChainVerification:
    def __init__(self, engine: AsyncEngine, *, page_size: int = PAGE_SIZE) -> None:
        self._engine = engine
        self._page_size = page_size

    async def head(self) -> LogHead:
        async with self._engine.connect() as conn:
            return await PostgresEventStore(conn, _NoClock()).head()

    async def verify(self, *, progress: Progress | None = None) -> ChainReport:
        async with self._engine.connect() as conn:
            await conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            async with conn.begin():
                return await verify_on(conn, page_size=self._page_size, progress=progress)


async def verify_on(
    conn: AsyncConnection, *, page_size: int = PAGE_SIZE, progress: Progress | None = None
) -> ChainReport:
    """The chain as `conn`'s transaction sees it (a backup's copy is checked this way)."""
    verifier = ChainVerifier()
    store = PostgresEventStore(conn, _NoClock())
    after = 0
    while rows := list(await conn.execute(_SEALED.where(events.c.seq > after).limit(page_size))):
        for row in rows:
            seq, prev_hash, hash_ = row[0], row[-2], row[-1]
            text = _sealed_text(*row)
            if (
                text is not None
                and sha256(text.encode()).hexdigest() == hash_
                and verifier.follows(seq, prev_hash, hash_)
            ):
                continue
            await _judge(store, verifier, seq, prev_hash, hash_)
        after = rows[-1][0]
        if progress:
            progress(len(rows))
    return verifier.report()


async def _judge(
    store: PostgresEventStore, verifier: ChainVerifier, seq: int, prev_hash: str, hash_: str
) -> None:
    try:
        event = await store.get(seq)
    except (TypeError, ValueError) as e:  # not JSON, not a time, not text
        verifier.unreadable(seq, prev_hash, hash_, str(e))
        return
    if event is None:
        verifier.unreadable(seq, prev_hash, hash_, "it is no longer there")
    else:
        verifier.feed([event])


def _sealed_text(
    seq: int,
    event_id: str,
    type_: str,
    aggregate_type: str,
    aggregate_id: str,
    payload: str,
    metadata: str,
    key: str | None,
    occurred: Any,
    recorded: Any,
    version: int,
    prev_hash: str,
    hash_: str,
) -> str | None:
    if SEALED_SPLIT in payload or SEALED_SPLIT in metadata:
        return None
    return sealed_text(
        seq,
        event_id,
        type_,
        aggregate_type,
        aggregate_id,
        payload,
        metadata,
        key,
        iso_utc(occurred),
        iso_utc(recorded),
        version,
        prev_hash,
    )


class _NoClock:
    """Verification appends nothing: a clock it never asks."""

    def now(self) -> Any:
        raise AssertionError("verification does not append")
