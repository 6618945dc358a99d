"""What `/reminders` tells the owner: what is scheduled next, what arrived lately, and what
is being retried or was given up on. Read from the same rules and the same log as
`NotificationService`, so the overview and the pushes cannot drift apart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from domain.due_notifications import (
    DAILY_SUMMARY,
    Notification,
    about,
    day_label,
    day_notifications,
    summary_key,
)
from domain.notification_log import (
    Ledger,
    NotificationRecord,
    claim_key,
    read_ledger,
    read_open,
)
from domain.notification_policy import NotificationPolicy
from domain.objects import Todo, Track
from domain.replies import fit
from domain.repositories import ObjectUnitOfWork

UPCOMING_DAYS = 7
NEXT_LIMIT = 15
LIST_LIMIT = 8
RECENT = timedelta(hours=24)


async def reminders_overview(
    uow: ObjectUnitOfWork, now: datetime, policy: NotificationPolicy
) -> str:
    """The next notification per todo, track and summary within 7 days; what was delivered
    in the last 24 hours; what failed and is being retried, or was given up on. At most
    4000 characters (domain/replies.py)."""
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    local = policy.local(now)
    todos, tracks = await read_open(uow)
    # From two days back: the last 24 hours may reach past today's and yesterday's
    # summaries, where a run's own reading starts.
    ledger = await read_ledger(uow.events, local.date() - timedelta(2))
    upcoming = await _upcoming(uow, ledger, todos, tracks, local, policy)
    lines = [f"Reminders, {day_label(local.date())} {local:%H:%M} ({policy.timezone})", ""]
    lines += _section(
        "Next",
        [f"{_at(when, policy)} {about(n.text)}" for when, n in upcoming],
        f"Nothing scheduled in the next {UPCOMING_DAYS} days.",
        NEXT_LIMIT,
    )
    recent = sorted(
        (
            r
            for r in ledger.records.values()
            if r.delivered_at is not None and r.delivered_at >= now - RECENT
        ),
        key=lambda r: r.delivered_at or now,
    )
    lines += [
        "",
        *_section(
            "Delivered in the last 24 h",
            [f"{_at(r.delivered_at, policy)} {_about(r)}" for r in recent],
            "Nothing delivered in the last 24 h.",
            LIST_LIMIT,
        ),
    ]
    retrying = [r for r in ledger.unsettled() if r.failures or now >= r.next_try(policy)]
    if retrying:
        lines += [
            "",
            *_section("Being retried", [_retry_line(r, policy) for r in retrying], "", LIST_LIMIT),
        ]
    missed = {r.key for r in ledger.missed()}
    given_up = [
        r
        for r in ledger.records.values()
        if r.expired_at is not None and (r.key in missed or r.expired_at >= now - RECENT)
    ]
    if given_up:
        lines += [
            "",
            *_section("Not delivered", [_given_up_line(r) for r in given_up], "", LIST_LIMIT),
        ]
    return fit(None, lines, len(lines))


async def _upcoming(
    uow: ObjectUnitOfWork,
    ledger: Ledger,
    todos: Sequence[Todo],
    tracks: Sequence[Track],
    local: datetime,
    policy: NotificationPolicy,
) -> list[tuple[datetime, Notification]]:
    """The first notification still to come for each todo, track and the summary."""
    today, seen, found = local.date(), set(), []
    for offset in range(UPCOMING_DAYS):
        day = today + timedelta(offset)
        summary = Notification(DAILY_SUMMARY, summary_key(day), "Daily summary")
        for notification in [summary, *day_notifications(todos, tracks, day, policy.zone)]:
            subject = next(iter(notification.targets.get("todo", ())), None) or next(
                iter(notification.targets.get("track", ())), DAILY_SUMMARY
            )
            when = _when(notification, day, local, policy)
            if subject in seen or when is None:
                continue
            if offset == 0 and await _taken(uow, ledger, notification.key):
                continue
            seen.add(subject)
            found.append((when, notification))
    return sorted(found, key=lambda item: item[0])


def _when(
    notification: Notification, day: date, local: datetime, policy: NotificationPolicy
) -> datetime | None:
    if notification.not_before is not None:
        return max(policy.local(notification.not_before), local)
    if day == local.date() and not local.hour < policy.waking_end_hour:
        return None  # today's waking hours are over: it is not sent
    hour = (
        policy.daily_summary_hour
        if notification.kind == DAILY_SUMMARY
        else policy.waking_start_hour
    )
    return max(datetime.combine(day, time(hour), tzinfo=policy.zone), local)


async def _taken(uow: ObjectUnitOfWork, ledger: Ledger, key: str) -> bool:
    return key in ledger.records or (
        await uow.events.get_by_idempotency_key(claim_key(key)) is not None
    )


def _section(title: str, lines: list[str], empty: str, limit: int) -> list[str]:
    if not lines:
        return [empty]
    more = [f"… and {len(lines) - limit} more"] if len(lines) > limit else []
    return [f"{title} ({len(lines)}):", *lines[:limit], *more]


def _at(moment: datetime | None, policy: NotificationPolicy) -> str:
    assert moment is not None
    local = policy.local(moment)
    return f"{day_label(local.date())} {local:%H:%M}"


def _about(record: NotificationRecord) -> str:
    return about(record.text) if record.text else record.key


def _retry_line(record: NotificationRecord, policy: NotificationPolicy) -> str:
    outcome = f"failed ({record.last_error})" if record.failed_at else "unconfirmed"
    return (
        f"{_about(record)} — attempt {record.attempt} {outcome}, next try "
        f"{_at(record.next_try(policy), policy)}"
    )


def _given_up_line(record: NotificationRecord) -> str:
    error = f", last error {record.last_error}" if record.last_error else ""
    return f"{_about(record)} — gave up after {record.attempt} attempt(s){error}"
