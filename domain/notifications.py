"""Pushed notifications: todo reminders, track check-in nudges and a daily summary.

The service decides what is due *now* in the owner's timezone and hands each text to a
`Notifier` (the outbound Telegram adapter). Each notification is sent at most once, ever,
across restarts and concurrent runners, because it is claimed in the event log before it
is sent; see `NotificationService`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Protocol, Self
from zoneinfo import ZoneInfo

from domain.due_notifications import (
    Notification,
    check_in_due,
    daily_summary,
    local_date,
    summary_key,
    todo_reminders,
    track_nudges,
)
from domain.errors import Conflict, InvalidInput
from domain.events import NewEvent
from domain.objects import DECISION_STATUSES, Decision, Todo, Track
from domain.ports import Clock
from domain.repositories import ObjectUnitOfWork

__all__ = [
    "NOTIFICATION",
    "NOTIFICATION_FAILED",
    "NOTIFICATION_SENT",
    "Notification",
    "NotificationPolicy",
    "NotificationService",
    "Notifier",
    "claim_key",
]

NOTIFICATION = "notification"
NOTIFICATION_SENT = "notification.sent"
NOTIFICATION_FAILED = "notification.failed"

logger = logging.getLogger(__name__)


def claim_key(key: str) -> str:
    """The idempotency key of the `notification.sent` event that claims `key`."""
    return f"{NOTIFICATION}:{key}"


@dataclass(frozen=True)
class NotificationPolicy:
    """When the owner may be notified, in their own timezone (an IANA name).

    Waking hours run from `waking_start_hour`:00 up to, not including, `waking_end_hour`:00;
    nothing is sent outside them. The daily summary goes out at or after
    `daily_summary_hour`, which must therefore lie within waking hours.
    """

    timezone: str = "UTC"
    waking_start_hour: int = 8
    waking_end_hour: int = 22
    daily_summary_hour: int = 8
    zone: tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("waking_start_hour", "waking_end_hour", "daily_summary_hour"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 23:
                raise InvalidInput(f"{name} must be a whole hour from 0 to 23, not {value!r}")
        if self.waking_start_hour >= self.waking_end_hour:
            raise InvalidInput("waking_start_hour must be before waking_end_hour")
        if not self.waking_start_hour <= self.daily_summary_hour < self.waking_end_hour:
            raise InvalidInput("daily_summary_hour must lie within waking hours")
        object.__setattr__(self, "zone", _zone(self.timezone))

    def is_waking(self, local: datetime) -> bool:
        return self.waking_start_hour <= local.hour < self.waking_end_hour

    def summary_due(self, local: datetime) -> bool:
        return self.is_waking(local) and local.hour >= self.daily_summary_hour


def _zone(name: object) -> tzinfo:
    if not isinstance(name, str) or not name:
        raise InvalidInput("timezone must be a zone name like Europe/Berlin")
    if name == "UTC":
        return UTC  # needs no tz database, so the default works on a bare image too
    try:
        return ZoneInfo(name)
    except (LookupError, ValueError, OSError) as e:
        raise InvalidInput(f"unknown timezone {name!r}; use a name like Europe/Berlin") from e


class Notifier(Protocol):
    """Sends a text to the owner; raises on any failure."""

    async def send(self, text: str) -> None: ...


class NotificationUnitOfWork(ObjectUnitOfWork, Protocol):
    """A unit of work with the log and the read models, as the SQL and fake ones are."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    async def commit(self) -> None: ...


class NotificationUnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = False) -> NotificationUnitOfWork: ...


class NotificationService:
    """Sends what is due now, each notification at most once, ever.

    A notification is claimed by appending `notification.sent` (idempotency key
    `notification:<key>`) and committing *before* it is sent; a key already in the log is
    skipped, so restarts and concurrent runners never send it twice. If sending then fails,
    `notification.failed` records the error type (never the message, which may carry a
    token) and the key is not retried: a reminder missed is better than one sent twice,
    and a crash between claim and send can only ever lose, never repeat, a message.
    Nothing is sent outside waking hours; each run reads the clock once, so all its
    decisions share one local moment.
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
        """Send every notification due now and not yet claimed; returns the keys sent."""
        now = self._clock.now()
        local = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(self._policy.zone)
        if not self._policy.is_waking(local):
            return []
        sent: list[str] = []
        for notification in await self._due(local):
            if await self._claim(notification) and await self._send(notification):
                sent.append(notification.key)
        return sent

    async def _due(self, local: datetime) -> list[Notification]:
        today, zone = local.date(), self._policy.zone
        async with self._uow_factory() as uow:
            todos: list[Todo] = await _every(uow.todos, "open")
            tracks: list[Track] = await _every(uow.tracks, "active")
            due: list[Notification] = []
            # The summary reads every decision, so it is built only while still unsent.
            if self._policy.summary_due(local) and not await _claimed(uow, summary_key(today)):
                decided = [d for d in await _decisions(uow) if _on(d.decided_at, today, zone)]
                checks = [t for t in tracks if check_in_due(t, today, zone)]
                # The head as a witness outside the database: a log later rewritten or
                # cut short cannot match what the owner's chat already holds.
                head = await uow.events.head()
                due.append(daily_summary(today, todos, decided, checks, head))
            due += todo_reminders(todos, today)
            due += track_nudges(tracks, today, zone)
            # A cheap read-only filter, so a quiet minute takes no writer lock; the claim
            # below is what actually decides.
            return [n for n in due if not await _claimed(uow, n.key)]

    async def _claim(self, notification: Notification) -> bool:
        claim = NewEvent(
            type=NOTIFICATION_SENT,
            aggregate_type=NOTIFICATION,
            aggregate_id=notification.key,
            payload={
                "kind": notification.kind,
                "key": notification.key,
                "text": notification.text,
                "targets": {kind: list(ids) for kind, ids in notification.targets.items()},
            },
            metadata={"source": "notifications"},
            idempotency_key=claim_key(notification.key),
        )
        async with self._uow_factory(write=True) as uow:
            if await _claimed(uow, notification.key):
                return False
            try:
                await uow.events.append([claim])
            except Conflict:  # another runner claimed it between our check and append
                return False
            await uow.commit()
        return True

    async def _send(self, notification: Notification) -> bool:
        try:
            await self._notifier.send(notification.text)
        except Exception as e:
            # Only the type: an HTTP client's message can include the bot token in a URL.
            error = type(e).__name__
            logger.warning("notification %s was not sent: %s", notification.key, error)
            await self._record_failure(notification, error)
            return False
        return True

    async def _record_failure(self, notification: Notification, error: str) -> None:
        failure = NewEvent(
            type=NOTIFICATION_FAILED,
            aggregate_type=NOTIFICATION,
            aggregate_id=notification.key,
            payload={"kind": notification.kind, "key": notification.key, "error": error},
            metadata={"source": "notifications"},
        )
        async with self._uow_factory(write=True) as uow:
            await uow.events.append([failure])
            await uow.commit()


async def _claimed(uow: ObjectUnitOfWork, key: str) -> bool:
    return await uow.events.get_by_idempotency_key(claim_key(key)) is not None


async def _every(models: Any, status: str) -> list[Any]:
    """Every row with `status`: the repositories page by limit, so ask for exactly all."""
    count = (await models.count_by_status())[status]
    return await models.list(status, limit=count) if count else []


async def _decisions(uow: ObjectUnitOfWork) -> list[Decision]:
    counts = await uow.decisions.count_by_status()
    total = sum(counts.get(status, 0) for status in DECISION_STATUSES)
    return await uow.decisions.list(None, limit=total) if total else []


def _on(moment: datetime, day: date, zone: tzinfo) -> bool:
    return local_date(moment, zone) == day
