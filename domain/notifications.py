"""Pushed notifications: todo reminders (in the morning, or at a todo's own time), track
check-in nudges and a daily summary, retried until they arrive or stop being worth sending.

The service decides what is due *now* in the owner's timezone and hands each text to a
`Notifier` (the outbound Telegram adapter); `domain.due_notifications` says what to send,
`domain.notification_log` what the log says happened so far. See `NotificationService`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime
from typing import Protocol, Self

from domain.agenda import read_agenda
from domain.due_notifications import (
    Notification,
    daily_summary,
    day_notifications,
    local_date,
    summary_key,
)
from domain.errors import Conflict
from domain.events import NewEvent, RecordedEvent
from domain.notification_log import (
    NOTIFICATION,
    NOTIFICATION_DELIVERED,
    NOTIFICATION_EXPIRED,
    NOTIFICATION_FAILED,
    NOTIFICATION_RETRIED,
    NOTIFICATION_SCHEDULED,
    NOTIFICATION_SENT,
    Ledger,
    NotificationRecord,
    as_missed,
    attempt_key,
    claim_key,
    delivered,
    delivered_key,
    expired,
    expired_key,
    failed,
    read_decisions,
    read_ledger,
    read_open,
    retried,
    scheduled,
)
from domain.notification_policy import NotificationPolicy
from domain.ports import Clock
from domain.reminders import reminders_overview
from domain.repositories import ObjectUnitOfWork

__all__ = [
    "NOTIFICATION",
    "NOTIFICATION_DELIVERED",
    "NOTIFICATION_EXPIRED",
    "NOTIFICATION_FAILED",
    "NOTIFICATION_RETRIED",
    "NOTIFICATION_SCHEDULED",
    "NOTIFICATION_SENT",
    "Notification",
    "NotificationPolicy",
    "NotificationService",
    "Notifier",
    "claim_key",
    "reminders_overview",
]

logger = logging.getLogger(__name__)


class Notifier(Protocol):
    """Sends a text to the owner and returns the sent message's id; raises on any failure."""

    async def send(self, text: str) -> int: ...


class NotificationUnitOfWork(ObjectUnitOfWork, Protocol):
    """A unit of work with the log and the read models, as the SQL and fake ones are."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    async def commit(self) -> None: ...


class NotificationUnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = False) -> NotificationUnitOfWork: ...


class NotificationService:
    """Sends what is due now, and retries what did not arrive while it still matters.

    The rule: record the intent, send, then record the delivery. A notification is taken by
    appending `notification.scheduled` (idempotency key `notification:<key>`) and
    committing before it is sent, so concurrent runners never both take it; a successful
    send appends `notification.delivered` with Telegram's message id. A failed send
    (an error or a timeout) appends `notification.failed` with the error's type only (never
    its message, which may carry the bot token), and a later run tries again after 1, 2,
    4, 8, ... minutes (at most 30; `NotificationPolicy`), each retry claimed by its own
    `notification.retried` so it too is taken once. A send with no recorded outcome (the
    process died between sending and recording) is tried again after a grace period: *a
    crash between send and record may repeat one message*, the price of never silently
    losing one. A notification stays worth sending while the rules that made it would
    still make it today (the todo still open and due, the track still due a check-in, the
    same local day); after that it is recorded as `notification.expired`, once, and the
    next daily summary lists it under "Not delivered:". Everything is decided from the log
    alone (`domain.notification_log`), so a restart keeps the schedule; old logs'
    `notification.sent` counts as delivered and is never sent again.

    Nothing but a timed todo's reminder is sent outside waking hours; each run reads the
    clock once, so all its decisions share one local moment.
    """

    def __init__(
        self,
        uow_factory: NotificationUnitOfWorkFactory,
        notifier: Notifier,
        clock: Clock,
        policy: NotificationPolicy,
    ) -> None:
        self._uow_factory = uow_factory
        self._notifier = notifier
        self._clock = clock
        self._policy = policy

    async def run_due(self) -> list[str]:
        """Retry or give up on what is still open, then send what is newly due; returns
        the keys delivered by this run."""
        now = self._now()
        local = self._policy.local(now)
        today = local.date()
        async with self._uow_factory() as uow:
            todos, tracks = await read_open(uow)
            ledger = await read_ledger(uow.events, today)
        current = {n.key: n for n in day_notifications(todos, tracks, today, self._policy.zone)}
        sent = await self._follow_up(ledger, current, today, local, now)
        due = [
            n
            for n in current.values()
            if n.key not in ledger.records and self._may_send(n, local, now)
        ]
        if self._policy.summary_due(local) and summary_key(today) not in ledger.records:
            summary = await self._summary(ledger, local)
            due = [summary, *due] if summary is not None else due
        for notification in await self._unclaimed(due):
            if await self._first_attempt(notification, ledger):
                sent.append(notification.key)
        return sent

    async def reminders(self, now: datetime | None = None) -> str:
        """What `/reminders` answers (`reminders_overview`), at `now` or the clock's now."""
        async with self._uow_factory() as uow:
            return await reminders_overview(uow, now or self._now(), self._policy)

    def _may_send(self, notification: Notification | None, local: datetime, now: datetime) -> bool:
        """A timed reminder from its time on, at any hour; the rest within waking hours."""
        if notification is not None and notification.not_before is not None:
            return now >= notification.not_before
        return self._policy.is_waking(local)

    async def _follow_up(
        self,
        ledger: Ledger,
        current: dict[str, Notification],
        today: date,
        local: datetime,
        now: datetime,
    ) -> list[str]:
        sent: list[str] = []
        for record in ledger.unsettled():
            in_flight = record.failed_at is None and now < record.next_try(self._policy)
            if record.key not in current and record.key != summary_key(today):
                if not in_flight:
                    await self._expire(record)
            elif (
                now >= record.next_try(self._policy)
                and self._may_send(current.get(record.key), local, now)
                and await self._retry(record)
            ):
                sent.append(record.key)
        return sent

    async def _summary(self, ledger: Ledger, local: datetime) -> Notification | None:
        """Today's agenda (the same query as /today and GET /api/v1/agenda), what was
        decided today, what was not delivered, and the log's head."""
        today = local.date()
        async with self._uow_factory() as uow:
            # The summary reads every decision, so it is built only while still untaken.
            if await uow.events.get_by_idempotency_key(claim_key(summary_key(today))):
                return None
            agenda = await read_agenda(uow, local, 1)
            decisions = await read_decisions(uow)
            # The head as a witness outside the database: a log later rewritten or cut
            # short cannot match what the owner's chat already holds.
            head = await uow.events.head()
        return daily_summary(
            agenda,
            [d for d in decisions if local_date(d.decided_at, agenda.zone) == today],
            head,
            missed=[as_missed(r) for r in ledger.missed()],
        )

    async def _unclaimed(self, due: list[Notification]) -> list[Notification]:
        # A cheap read-only filter, so a quiet minute takes no writer lock; the claim is
        # what actually decides.
        async with self._uow_factory() as uow:
            return [
                n for n in due if await uow.events.get_by_idempotency_key(claim_key(n.key)) is None
            ]

    # Claims and outcomes carry the time they are recorded at, not the run's moment: a run
    # that spent a while on slow sends must not make a fresh claim look stale to others.

    async def _first_attempt(self, notification: Notification, ledger: Ledger) -> bool:
        # A summary reports the expiries listed in it, and where the next run must start
        # reading (domain/notification_log.py).
        intent = scheduled(
            notification,
            self._now(),
            open_from=ledger.open_from(),
            reported=[r.key for r in ledger.missed()],
        )
        if await self._claim(intent) is None:
            return False
        return await self._send(notification.key, notification.kind, notification.text, 1)

    async def _retry(self, record: NotificationRecord) -> bool:
        attempt = record.attempt + 1
        claim = retried(record.key, attempt, self._now())
        if await self._claim(claim, expired_key(record.key), delivered_key(record.key)) is None:
            return False
        return await self._send(record.key, record.kind, record.text, attempt)

    async def _expire(self, record: NotificationRecord) -> None:
        # Not while a next attempt is claimed: that one is sending, and may yet arrive.
        next_claim = attempt_key(record.key, record.attempt + 1)
        found = await self._claim(
            expired(record, self._now()), next_claim, delivered_key(record.key)
        )
        if found is not None:
            record.expired_at, record.expired_seq = found.occurred_at, found.seq
            logger.warning(
                "notification %s expired undelivered after %d attempt(s)",
                record.key,
                record.attempt,
            )

    async def _send(self, key: str, kind: str, text: str, attempt: int) -> bool:
        try:
            # Bounded below the unconfirmed grace, so a slow send is never retried as lost.
            async with asyncio.timeout(self._policy.send_timeout_s):
                message_id = await self._notifier.send(text)
        except Exception as e:
            # Only the type: an HTTP client's message can include the bot token in a URL.
            error = type(e).__name__
            at = self._now()
            retry_after = at + self._policy.backoff(attempt)
            logger.warning(
                "notification %s attempt %d was not delivered (%s); next try after %s",
                key,
                attempt,
                error,
                retry_after.isoformat(),
            )
            await self._record(failed(key, kind, error, attempt, retry_after, at))
            return False
        await self._record(delivered(key, message_id, attempt, self._now()))
        return True

    async def _claim(self, event: NewEvent, *blockers: str) -> RecordedEvent | None:
        """Append `event` unless its idempotency key, or any of `blockers`, is taken."""
        assert event.idempotency_key is not None
        async with self._uow_factory(write=True) as uow:
            for key in (event.idempotency_key, *blockers):
                if await uow.events.get_by_idempotency_key(key) is not None:
                    return None
            try:  # a key taken may be refused at the append or at the commit
                [recorded] = await uow.events.append([event])
                await uow.commit()
            except Conflict:  # another runner took it between our check and append
                return None
        return recorded

    async def _record(self, event: NewEvent) -> None:
        async with self._uow_factory(write=True) as uow:
            try:  # a key taken may be refused at the append or at the commit
                await uow.events.append([event])
                await uow.commit()
            except Conflict:
                return  # already recorded

    def _now(self) -> datetime:
        now = self._clock.now()
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)
