"""Ingestion: record what the owner said, once, whatever the channel, and derive from it.

The extractor runs before the write transaction opens: an LLM call can take seconds and
must not hold the database's writer lock. The message event and everything derived from
it are then recorded in one transaction, so either all of it is in the log or none is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any, NamedTuple, cast

from domain.derivation import CAUSED_BY_SEQ, FollowUp, caused_by, deriving
from domain.errors import DomainError, IdempotencyConflict, LogContradicted
from domain.events import NewEvent, RecordedEvent
from domain.extraction import Extractor
from domain.ids import new_uuids
from domain.message_events import PreparedMessage, prepare, prepare_one
from domain.messages import MESSAGE_INGESTED, IncomingMessage
from domain.ports import (
    Clock,
    IdempotencyRecord,
    OneByOne,
    UnitOfWork,
    UnitOfWorkFactory,
    Writes,
)
from domain.rules_extractor import RulesExtractor


# NamedTuples rather than frozen dataclasses: as immutable, and a bulk ingest builds two
# per message (a frozen dataclass's init costs five times as much).
class IngestResult(NamedTuple):
    event: RecordedEvent
    derived: Sequence[RecordedEvent] = ()
    replayed: bool = False


class BatchItemResult(NamedTuple):
    position: int  # in the batch; not `index`, which would hide tuple.index
    result: IngestResult | None = None
    error: str | None = None


def idempotency_records_of(event: RecordedEvent) -> list[IdempotencyRecord]:
    """The idempotency records a message event implies; rebuild derives them the same way."""
    if event.type != MESSAGE_INGESTED:
        return []
    keys = event.metadata.get("idempotency_keys", [])
    request_hash = event.metadata.get("request_hash", "")
    return [IdempotencyRecord(key, event.seq, request_hash) for key in keys]


async def _nothing(uow: Any, message: RecordedEvent) -> list[RecordedEvent]:
    return []


@dataclass(slots=True)  # not frozen: one per message, and a frozen init costs 5x
class _Pending:
    """One message on its way into the log, with everything that can be decided before
    the writer lock decided: its keys, its fingerprint, its event, what it sets off."""

    keys: list[str]
    follow_up: FollowUp
    fingerprint: str
    event: NewEvent


class IngestService:
    """Without an extractor, messages are recorded and nothing is derived from them.

    Single messages reach the database through `writes` (domain/ports.py): each in its
    own transaction, or, as the container sets it up, grouped with other callers' into
    one transaction and one commit (infrastructure/group_commit.py); each call returns
    only once its message is durable. A caller's own `follow_up` (the conversation's
    commands) keeps a transaction of its own: it may fail after writing, which would cost
    a whole group a retry. Call `close()` before the database goes, so that nothing
    queued is lost."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        extractor: Extractor | None = None,
        clock: Clock | None = None,
        *,
        writes: Writes | None = None,
        zone: tzinfo = UTC,
    ) -> None:
        """`zone`: the owner's, in which the extractor reads "tomorrow" and "9am"."""
        if extractor is not None and clock is None:
            raise ValueError("an extractor needs a clock, to know what 'tomorrow' means")
        self._uow_factory = uow_factory
        self._extractor = extractor
        self._clock = clock
        self._zone = zone
        self._alone = OneByOne(uow_factory)
        self._writes = writes or self._alone

    async def close(self) -> None:
        await self._writes.close()

    async def ingest(
        self,
        message: IncomingMessage,
        *,
        idempotency_key: str | None = None,
        context: Mapping[str, Any] | None = None,
        follow_up: FollowUp | None = None,
    ) -> IngestResult:
        """Record the message and run `follow_up` (by default: derive what the extractor
        finds in the text) in the same transaction; a replay returns the original result."""
        [aggregate_id] = new_uuids(1)
        prepared = prepare_one(
            message, context or {}, aggregate_id, idempotency_key=idempotency_key
        )
        if follow_up is not None:
            pending = _Pending(prepared.keys, follow_up, prepared.fingerprint, prepared.event)
            return await self._alone.submit(self._record, pending)
        [pending] = await self._pending([prepared])
        return await self._writes.submit(self._record, pending)

    async def ingest_batch(
        self,
        messages: Sequence[IncomingMessage] | Sequence[PreparedMessage],
        *,
        context: Mapping[str, Any] | None = None,
        extractor: Extractor | None = None,
    ) -> list[BatchItemResult]:
        """All messages in one transaction; a conflicting item is reported, not fatal.

        `messages` may come through `domain.message_events.prepare` already (an import
        prepares them in another process; `context` is then theirs already).
        `extractor` replaces the service's own for this batch (an import of thousands of
        old messages should not cost thousands of LLM calls). Extraction runs before the
        write transaction; a message already recorded (a redelivery) costs no model call
        (the rules, cheaper than the lookup that would spare them, read it anyway)."""
        prepared: Sequence[PreparedMessage] = (  # a batch is prepared whole or not at all
            cast("Sequence[PreparedMessage]", messages)
            if messages and isinstance(messages[0], PreparedMessage)
            else prepare(cast("Sequence[IncomingMessage]", messages), dict(context or {}))
        )
        items = await self._pending(prepared, extractor)
        async with self._uow_factory(write=True) as uow:
            outcomes = await self._record(uow, items)
            await uow.commit()
        return [
            BatchItemResult(index, None, str(outcome))
            if isinstance(outcome, DomainError)
            else BatchItemResult(index, outcome)
            for index, outcome in enumerate(outcomes)
        ]

    async def _pending(
        self, prepared: Sequence[PreparedMessage], extractor: Extractor | None = None
    ) -> list[_Pending]:
        follow_ups = await self._derivations(prepared, extractor)
        return [
            _Pending(item.keys, follow_up, item.fingerprint, item.event)
            for item, follow_up in zip(prepared, follow_ups, strict=True)
        ]

    async def _derivations(
        self, prepared: Sequence[PreparedMessage], extractor: Extractor | None = None
    ) -> list[FollowUp]:
        """Extract from each message, one after another."""
        extractor = extractor or self._extractor
        if extractor is None or self._clock is None:
            return [_nothing] * len(prepared)
        known = [False] * len(prepared)
        # A message recorded before is not extracted from again: `_record` would drop
        # what it found. The rules cost less than the lookup that would spare them (an
        # import of 20,000 messages spent 0.09 s of its 0.23-0.26 s here looking up).
        if not isinstance(extractor, RulesExtractor) and any(item.keys for item in prepared):
            async with self._uow_factory() as uow:
                found = await uow.idempotency.get_many(
                    [key for item in prepared for key in item.keys]
                )
            known = [any(key in found for key in item.keys) for item in prepared]
        now = self._clock.now()
        follow_ups: list[FollowUp] = []
        for item, replay in zip(prepared, known, strict=True):
            # "tomorrow" in an old message means the day after it was said, where the
            # owner was.
            event = item.event
            said = event.occurred_at or now
            said = (said if said.tzinfo else said.replace(tzinfo=UTC)).astimezone(self._zone)
            extraction = (
                None if replay else await extractor.extract(event.payload["text"], now=said)
            )
            follow_ups.append(deriving(extraction) if extraction and extraction.items else _nothing)
        return follow_ups

    async def _record(
        self, uow: UnitOfWork, items: Sequence[_Pending]
    ) -> list[IngestResult | DomainError]:
        """Record each message in order, under the writer lock: one lookup of every key,
        then the new messages appended together (a message with something to derive is
        appended alone, so what it derives follows it without a gap), then their
        idempotency records together. A key already used with another message refuses
        that item only, having written nothing for it; the same message again, in the log
        or earlier in `items`, is a replay of the first."""
        fingerprints = [item.fingerprint for item in items]
        known = await uow.idempotency.get_many([k for item in items for k in item.keys])
        claimed: dict[str, int] = {}  # key -> index of the item in `items` that took it
        outcomes: list[IngestResult | DomainError | None] = [None] * len(items)
        replays: dict[int, tuple[int, str]] = {}  # item index -> (seq it repeats, key)
        copies: dict[int, int] = {}  # item index -> index of the earlier item it repeats
        fresh: list[int] = []
        for index, (item, fingerprint) in enumerate(zip(items, fingerprints, strict=True)):
            for key in item.keys:
                if key in known:
                    if known[key].request_hash != fingerprint:
                        outcomes[index] = _conflict(key)
                    else:
                        replays[index] = (known[key].event_seq, key)
                    break
                if key in claimed:
                    if fingerprints[claimed[key]] != fingerprint:
                        outcomes[index] = _conflict(key)
                    else:
                        copies[index] = claimed[key]
                    break
            else:
                if item.keys:
                    claimed.update(dict.fromkeys(item.keys, index))
                fresh.append(index)

        run: list[int] = []
        records: list[IdempotencyRecord] = []
        for index in fresh:
            run.append(index)
            if items[index].follow_up is not _nothing:
                await self._append(uow, items, run, outcomes, records)
                run = []
        await self._append(uow, items, run, outcomes, records)
        await uow.idempotency.add_many(records)
        replayed = await self._replays(uow, {seq for seq, _ in replays.values()})
        for index, (seq, key) in replays.items():
            outcomes[index] = _vouched(replayed.get(seq), seq, key)
        for index, first in copies.items():
            original = outcomes[first]
            assert isinstance(original, IngestResult)
            outcomes[index] = IngestResult(original.event, original.derived, replayed=True)
        assert all(outcome is not None for outcome in outcomes), "an item was left out"
        return cast("list[IngestResult | DomainError]", outcomes)

    async def _append(
        self,
        uow: UnitOfWork,
        items: Sequence[_Pending],
        run: list[int],
        outcomes: list[IngestResult | DomainError | None],
        records: list[IdempotencyRecord],
    ) -> None:
        """Append the messages of `run` together, then what the last one derives; their
        idempotency records are added to `records`, which the caller stores at once."""
        if not run:
            return
        recorded = await uow.events.append([items[i].event for i in run])
        for index, event in zip(run, recorded, strict=True):
            outcomes[index] = IngestResult(event)
            item = items[index]
            # What idempotency_records_of reads back from the event's metadata, which
            # message_event wrote from these same keys and fingerprint.
            for key in item.keys:
                records.append(IdempotencyRecord(key, event.seq, item.fingerprint))
        last = run[-1]
        derived = await items[last].follow_up(uow, recorded[-1])
        if derived:
            outcomes[last] = IngestResult(recorded[-1], derived)

    async def _replays(self, uow: UnitOfWork, seqs: set[int]) -> dict[int, IngestResult]:
        """The original results of messages recorded before: one read for all of them and
        the event after each; only a message whose next event it caused reads on."""
        if not seqs:
            return {}
        found = await uow.events.get_many(sorted(seqs | {seq + 1 for seq in seqs}))
        results: dict[int, IngestResult] = {}
        for seq in seqs:
            event = found.get(seq)
            if event is None:
                continue  # _vouched says what that means
            after = found.get(seq + 1)
            derived = []
            if after is not None and after.metadata.get(CAUSED_BY_SEQ) == seq:
                derived = await caused_by(uow.events, event)
            results[seq] = IngestResult(event, derived, replayed=True)
        return results


def _vouched(result: IngestResult | None, seq: int, key: str) -> IngestResult | DomainError:
    """The original result of `key`'s message, if the log still holds it: a record whose
    event is missing, or is another event, means the log was altered behind the service's
    back, and no answer about that message is true (never another event's result)."""
    if result is not None and (
        key == result.event.idempotency_key
        or key in result.event.metadata.get("idempotency_keys", ())
    ):
        return result
    return LogContradicted(
        f"{_describe(key)} was recorded as seq {seq}, which the log no "
        "longer holds as that message: the log was altered"
    )


def _conflict(key: str) -> IdempotencyConflict:
    return IdempotencyConflict(f"{_describe(key)} was already used for a different message")


def _describe(key: str) -> str:
    if key.startswith("source:"):
        return "this source and source_id"
    return "this Idempotency-Key"
