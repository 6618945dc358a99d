"""Each notification's history in the event log, and what it says about the next step.

Per key (aggregate_type `notification`, aggregate_id the key):

- `notification.scheduled` {kind, key, text, targets, attempt: 1}: the intent, appended
  and committed before the first send; idempotency key `notification:<key>`, so two
  runners can never both take a key. A summary's also carries `open_from` and `reported`
  (below).
- `notification.retried` {key, attempt}: the claim of attempt n > 1, idempotency key
  `notification:<key>:attempt-<n>`, so a retry is taken by one runner too.
- `notification.delivered` {key, message_id, attempt}, once (`notification:<key>:delivered`).
- `notification.failed` {kind, key, error, attempt, retry_after}: the error's type only.
- `notification.expired` {kind, key, about, attempts, last_error}: given up on, once
  (`notification:<key>:expired`).
- `notification.sent`: the rule before 0.3 (claim, send, never retry); a key with one is
  settled for good.

Every decision is taken from these events alone (their `occurred_at` and `attempt`), so a
restart keeps the schedule. A run reads them from a checkpoint rather than from the start:
each daily summary's `open_from` is the lowest seq at which, when it was scheduled, some
notification was still unsettled or some expiry not yet reported; the latest summary's
checkpoint is found by its idempotency key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.agenda import read_every
from domain.due_notifications import DAILY_SUMMARY, Missed, Notification, about, summary_key
from domain.events import NewEvent, RecordedEvent
from domain.notification_policy import NotificationPolicy
from domain.objects import DECISION_STATUSES, Decision, Todo, Track
from domain.ports import EventStore
from domain.repositories import ReadModels

NOTIFICATION = "notification"
NOTIFICATION_SCHEDULED = "notification.scheduled"
NOTIFICATION_RETRIED = "notification.retried"
NOTIFICATION_DELIVERED = "notification.delivered"
NOTIFICATION_FAILED = "notification.failed"
NOTIFICATION_EXPIRED = "notification.expired"
NOTIFICATION_SENT = "notification.sent"
NOTIFICATION_TYPES = (
    NOTIFICATION_SCHEDULED,
    NOTIFICATION_RETRIED,
    NOTIFICATION_DELIVERED,
    NOTIFICATION_FAILED,
    NOTIFICATION_EXPIRED,
    NOTIFICATION_SENT,
)

# How many days back a run looks for the latest summary's checkpoint; with none found it
# reads every notification event (a new log, or a service that was off for a week).
CHECKPOINT_DAYS = 8
PAGE = 1000
_METADATA = {"source": "notifications"}


def claim_key(key: str) -> str:
    """The idempotency key of the event that claims `key` (scheduled, or the old sent)."""
    return f"{NOTIFICATION}:{key}"


def attempt_key(key: str, attempt: int) -> str:
    return claim_key(key) if attempt == 1 else f"{claim_key(key)}:attempt-{attempt}"


def delivered_key(key: str) -> str:
    return f"{claim_key(key)}:delivered"


def expired_key(key: str) -> str:
    return f"{claim_key(key)}:expired"


@dataclass
class NotificationRecord:
    """One key's history as folded from the log; `attempt` is the latest claimed."""

    key: str
    first_seq: int
    kind: str = ""
    text: str = ""
    attempt: int = 0
    claimed_at: datetime | None = None
    failed_at: datetime | None = None  # of the latest attempt; None: no outcome yet
    last_error: str | None = None
    failures: int = 0
    delivered_at: datetime | None = None
    message_id: int | None = None
    expired_at: datetime | None = None
    expired_seq: int | None = None
    reported: tuple[str, ...] = ()  # a summary's: the expiries it tells the owner of

    @property
    def settled(self) -> bool:
        return self.delivered_at is not None or self.expired_at is not None

    def next_try(self, policy: NotificationPolicy) -> datetime:
        """After a failure: the policy's backoff from the failure. With no outcome (the
        process died between send and record): the unconfirmed grace from the claim, which
        outlasts any send still in flight (the policy bounds a send's time below it)."""
        if self.failed_at is not None:
            return self.failed_at + policy.backoff(self.attempt)
        claimed = self.claimed_at or datetime.min.replace(tzinfo=UTC)
        return claimed + timedelta(seconds=policy.unconfirmed_grace_s)


@dataclass
class Ledger:
    """The notifications the log holds from a checkpoint on, by key in first-seen order;
    `head` is the last seq the log had when they were read."""

    head: int
    records: dict[str, NotificationRecord] = field(default_factory=dict)

    @classmethod
    def fold(cls, events: Iterable[RecordedEvent], head: int) -> Ledger:
        ledger = cls(head)
        for event in events:
            key = str(event.payload.get("key") or event.aggregate_id)
            record = ledger.records.setdefault(key, NotificationRecord(key, event.seq))
            _apply(record, event)
        return ledger

    def unsettled(self) -> list[NotificationRecord]:
        """Claimed within the window and neither delivered nor expired. (A key whose
        intent lies before the checkpoint was settled when the checkpoint was set.)"""
        return [r for r in self.records.values() if not r.settled and r.attempt and r.text]

    def missed(self) -> list[NotificationRecord]:
        """Expired and not yet in a delivered summary's `reported`."""
        told = {
            key for r in self.records.values() if r.delivered_at is not None for key in r.reported
        }
        return [r for r in self.records.values() if r.expired_seq is not None and r.key not in told]

    def open_from(self) -> int:
        """The checkpoint a summary scheduled now records (see the module docstring)."""
        seqs = [r.first_seq for r in self.unsettled()]
        seqs += [r.expired_seq for r in self.missed() if r.expired_seq is not None]
        return min([*seqs, self.head + 1])


async def read_ledger(events: EventStore, today: date) -> Ledger:
    start = await _checkpoint(events, today)
    head = (await events.head()).last_seq
    found: list[RecordedEvent] = []
    after = start - 1
    while True:
        page = await events.read(after_seq=after, limit=PAGE, types=NOTIFICATION_TYPES)
        found += [e for e in page if e.seq <= head]
        if len(page) < PAGE or page[-1].seq >= head:
            return Ledger.fold(found, head)
        after = page[-1].seq


async def _checkpoint(events: EventStore, today: date) -> int:
    for back in range(CHECKPOINT_DAYS):
        claim = await events.get_by_idempotency_key(claim_key(summary_key(today - timedelta(back))))
        if claim is not None:
            start = claim.payload.get("open_from")
            if isinstance(start, int) and not isinstance(start, bool) and start > 0:
                return start
            return claim.seq  # an old `sent` summary settled all before
    return 1


def _apply(record: NotificationRecord, event: RecordedEvent) -> None:
    p, at = event.payload, event.occurred_at
    attempt = _attempt(p, record.attempt or 1)
    if event.type in (NOTIFICATION_SCHEDULED, NOTIFICATION_SENT):
        record.kind, record.text = str(p.get("kind", "")), str(p.get("text", ""))
        record.reported = tuple(str(k) for k in p.get("reported") or ())
    if event.type == NOTIFICATION_SENT:
        record.delivered_at = at
    elif event.type in (NOTIFICATION_SCHEDULED, NOTIFICATION_RETRIED):
        if attempt > record.attempt:
            record.attempt, record.claimed_at, record.failed_at = attempt, at, None
    elif event.type == NOTIFICATION_FAILED:
        record.failures += 1
        record.last_error = str(p.get("error", ""))
        if attempt == record.attempt:
            record.failed_at = at
    elif event.type == NOTIFICATION_DELIVERED:
        record.delivered_at = at
        record.message_id = p.get("message_id")
    elif event.type == NOTIFICATION_EXPIRED:
        record.expired_at, record.expired_seq = at, event.seq
        # Its intent may lie before the checkpoint: the expiry carries what a list needs.
        record.kind = record.kind or str(p.get("kind", ""))
        record.text = record.text or str(p.get("about", ""))
        record.attempt = record.attempt or _attempt({"attempt": p.get("attempts")}, 0)
        record.last_error = record.last_error or p.get("last_error")


def _attempt(payload: Any, default: int) -> int:
    value = payload.get("attempt")
    return value if isinstance(value, int) and not isinstance(value, bool) else default


# --- the events -----------------------------------------------------------------------------


def scheduled(
    notification: Notification,
    at: datetime,
    *,
    open_from: int | None = None,
    reported: Sequence[str] = (),
) -> NewEvent:
    payload: dict[str, Any] = {
        "kind": notification.kind,
        "key": notification.key,
        "text": notification.text,
        "targets": {kind: list(ids) for kind, ids in notification.targets.items()},
        "attempt": 1,
    }
    if notification.kind == DAILY_SUMMARY:
        payload |= {"open_from": open_from, "reported": list(reported)}
    key = notification.key
    return _event(NOTIFICATION_SCHEDULED, key, payload, at, claim_key(key))


def retried(key: str, attempt: int, at: datetime) -> NewEvent:
    return _event(
        NOTIFICATION_RETRIED, key, {"key": key, "attempt": attempt}, at, attempt_key(key, attempt)
    )


def delivered(key: str, message_id: int, attempt: int, at: datetime) -> NewEvent:
    payload = {"key": key, "message_id": message_id, "attempt": attempt}
    return _event(NOTIFICATION_DELIVERED, key, payload, at, delivered_key(key))


def failed(
    key: str, kind: str, error: str, attempt: int, retry_after: datetime, at: datetime
) -> NewEvent:
    payload = {
        "kind": kind,
        "key": key,
        "error": error,
        "attempt": attempt,
        "retry_after": retry_after.isoformat(),
    }
    return _event(NOTIFICATION_FAILED, key, payload, at, f"{claim_key(key)}:failed-{attempt}")


def expired(record: NotificationRecord, at: datetime) -> NewEvent:
    payload = {
        "kind": record.kind,
        "key": record.key,
        "about": about(record.text),
        "attempts": record.attempt,
        "last_error": record.last_error,
    }
    return _event(NOTIFICATION_EXPIRED, record.key, payload, at, expired_key(record.key))


def as_missed(record: NotificationRecord) -> Missed:
    return Missed(record.key, record.kind, about(record.text))


def _event(
    type_: str, key: str, payload: dict[str, Any], at: datetime, idempotency_key: str
) -> NewEvent:
    return NewEvent(
        type=type_,
        aggregate_type=NOTIFICATION,
        aggregate_id=key,
        payload=payload,
        metadata=dict(_METADATA),
        idempotency_key=idempotency_key,
        occurred_at=at,
    )


# --- what the rules read --------------------------------------------------------------------


async def read_open(uow: ReadModels) -> tuple[list[Todo], list[Track]]:
    """Every open todo and active track: the repositories page by limit, so ask for all."""
    return await read_every(uow.todos, "open"), await read_every(uow.tracks, "active")


async def read_decisions(uow: ReadModels) -> list[Decision]:
    counts = await uow.decisions.count_by_status()
    total = sum(counts.get(status, 0) for status in DECISION_STATUSES)
    return await uow.decisions.list(None, limit=total) if total else []
