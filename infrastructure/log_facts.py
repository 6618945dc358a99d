"""What the integrity checks ask of the stored log (domain/integrity.py `LogFacts`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import Text, func, select, type_coerce
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.chain import GENESIS_HASH, iso_utc
from domain.errors import StorageUnavailable
from domain.events import LogHead
from domain.integrity import Finding
from infrastructure.backends import backend_for
from infrastructure.tables import events, helionyx_meta, idempotency_records

_CHUNK = 1000
_PAGE = 5000
_LISTED = 20  # idempotency records named one by one; the rest are counted


class SqlLogFacts:
    """Each question on a connection of its own; a driver's error comes out as
    StorageUnavailable (no verdict), never as a finding."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.connect() as conn:
                yield conn
        except (DBAPIError, OSError) as e:
            why = e.orig if isinstance(e, DBAPIError) else e
            raise StorageUnavailable(f"the event log cannot be read: {why}") from e

    async def log_id(self) -> str:
        query = select(helionyx_meta.c.value).where(helionyx_meta.c.key == "log_id")
        async with self._connect() as conn:
            found = (await conn.execute(query)).scalar()
        if found is None:
            raise StorageUnavailable("the database has no log id: run `make migrate`")
        return found

    async def head(self) -> tuple[LogHead, str]:
        query = (
            select(events.c.seq, events.c.hash, events.c.recorded_at)
            .order_by(events.c.seq.desc())
            .limit(1)
        )
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return LogHead(0, GENESIS_HASH), ""
        return LogHead(row.seq, row.hash), iso_utc(row.recorded_at)

    async def missing_triggers(self) -> list[str]:
        """The guard triggers that keep the log append-only (migrations 20261126_0001 and
        _0003) which are missing or disabled."""
        backend = backend_for(self._engine.url)
        try:
            present = await backend.enabled_triggers(self._engine)
        except (DBAPIError, OSError) as e:
            why = e.orig if isinstance(e, DBAPIError) else e
            raise StorageUnavailable(f"the event log cannot be read: {why}") from e
        return [name for name in backend.guard_triggers if name not in present]

    async def hashes_at(self, seqs: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        async with self._connect() as conn:
            for start in range(0, len(seqs), _CHUNK):
                chunk = list(seqs[start : start + _CHUNK])
                query = select(events.c.seq, events.c.hash).where(events.c.seq.in_(chunk))
                found.update({seq: hash_ for seq, hash_ in await conn.execute(query)})
        return found

    async def row_count(self, upto: int) -> int:
        query = select(func.count()).select_from(events).where(events.c.seq <= upto)
        async with self._connect() as conn:
            return (await conn.execute(query)).scalar_one()

    async def idempotency_findings(self) -> tuple[int, list[Finding]]:
        """Each record's event must exist and carry the record's key (as its
        idempotency_key, or among the message's `idempotency_keys`)."""
        records = idempotency_records
        # metadata as its stored text, parsed only for a record that is not the event's
        # own key (a message's source key): most records are settled without it.
        query = (
            select(
                records.c.key,
                records.c.event_seq,
                events.c.seq,
                events.c.idempotency_key,
                type_coerce(events.c.metadata, Text()),
            )
            .select_from(records.outerjoin(events, events.c.seq == records.c.event_seq))
            .order_by(records.c.key)
            .limit(_PAGE)
        )
        checked, bad = 0, 0
        findings: list[Finding] = []
        after: str | None = None
        async with self._connect() as conn:
            while True:
                page = query if after is None else query.where(records.c.key > after)
                rows = (await conn.execute(page)).all()
                for key, event_seq, seq, own_key, metadata in rows:
                    problem = _idempotency_problem(key, event_seq, seq, own_key, metadata)
                    if problem is not None:
                        bad += 1
                        if bad <= _LISTED:
                            findings.append(Finding("idempotency", f"idempotency@{key}", problem))
                checked += len(rows)
                if len(rows) < _PAGE:
                    break
                after = rows[-1][0]
        if bad > _LISTED:
            findings.append(
                Finding(
                    "idempotency",
                    f"idempotency-more@{bad}",
                    f"and {bad - _LISTED} more idempotency records like these",
                )
            )
        return checked, findings


def _idempotency_problem(
    key: str, event_seq: int, seq: int | None, own_key: str | None, metadata: str | None
) -> str | None:
    shown = key if len(key) <= 60 else f"{key[:57]}..."
    if seq is None:
        return (
            f"idempotency record {shown!r} points at seq {event_seq}, which the log does not hold"
        )
    if key != own_key and key not in _keys_in(metadata):
        return (
            f"idempotency record {shown!r} points at seq {event_seq}, an event "
            "recorded without that key"
        )
    return None


def _keys_in(metadata: str | None) -> Sequence[str]:
    try:
        found = json.loads(metadata or "{}")
    except ValueError:  # the chain check names an unreadable row
        return ()
    keys = found.get("idempotency_keys", ()) if isinstance(found, dict) else ()
    return keys if isinstance(keys, list) else ()


async def restore_guard_triggers(engine: AsyncEngine) -> list[str]:
    """Put back (create, or enable again) the guard triggers that are missing or disabled
    (`make migrate`, as the table's owner); the ones put back, [] when all were there."""
    missing = await SqlLogFacts(engine).missing_triggers()
    if missing:
        await backend_for(engine.url).restore_triggers(engine, missing)
    return missing
