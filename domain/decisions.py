"""Decisions: recorded active, then superseded by a newer decision or revoked.

Superseding links both ways: the new decision's `supersedes` names the old one, and a
`decision.superseded` event on the old one names the new one in `superseded_by`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from domain.changes import (
    Ref,
    event,
    find,
    optional_text,
    record,
    reload,
    require_status,
    source_seq,
    status_asked,
    text_list,
    title_of,
    total_of_status,
)
from domain.errors import InvalidInput
from domain.events import NewEvent, RecordedEvent
from domain.ids import new_uuid
from domain.listing import BY_NUMBER, Page, number, page_of
from domain.objects import (
    DECISION,
    DECISION_RECORDED,
    DECISION_REVIEWED,
    DECISION_REVOKED,
    DECISION_STATUSES,
    DECISION_SUPERSEDED,
    Decision,
)
from domain.repositories import ObjectUnitOfWork

__all__ = [
    "Decision",
    "get_decision",
    "page_decisions",
    "record_decision",
    "review_decision",
    "revoke_decision",
    "supersede_decision",
]

Metadata = Mapping[str, Any] | None


async def record_decision(
    uow: ObjectUnitOfWork,
    *,
    title: str,
    rationale: str | None = None,
    options: Iterable[str] = (),
    supersedes: Ref | None = None,
    review_on: date | str | None = None,
    source_event_seq: int | None = None,
    metadata: Metadata = None,
    at: datetime | None = None,
) -> tuple[Decision, list[RecordedEvent]]:
    """Record a decision; with `supersedes`, the named active decision is superseded by it.
    `review_on`: the day to look back at how it turned out (the agenda and the daily
    summary bring it up then)."""
    payload: dict[str, Any] = {
        "title": title_of(title, DECISION),
        "rationale": optional_text(rationale, "rationale"),
        "options": text_list(options, "options"),
        "supersedes": None,
        "source_event_seq": source_seq(source_event_seq),
    }
    if (review := _review_day(review_on)) is not None:
        payload["review_on"] = review.isoformat()
    old = None
    if supersedes is not None:
        old = await find(uow.decisions, supersedes, DECISION)
        require_status(DECISION, old.number, old.status, ("active",), "superseded")
        payload["supersedes"] = old.id
    payload["number"] = await uow.decisions.next_number()
    decision_id = new_uuid()
    events: list[NewEvent] = [
        event(DECISION_RECORDED, DECISION, decision_id, payload, metadata, at)
    ]
    if old is not None:
        link = {
            "number": old.number,
            "title": old.title,
            "from": old.status,
            "superseded_by": decision_id,
            "superseded_by_number": payload["number"],
        }
        events.append(event(DECISION_SUPERSEDED, DECISION, old.id, link, metadata, at))
    recorded = await record(uow, events)
    return await reload(uow.decisions, decision_id), recorded


async def supersede_decision(
    uow: ObjectUnitOfWork,
    decision: Ref,
    *,
    title: str,
    rationale: str | None = None,
    options: Iterable[str] = (),
    review_on: date | str | None = None,
    source_event_seq: int | None = None,
    metadata: Metadata = None,
) -> tuple[Decision, list[RecordedEvent]]:
    """Replace an active decision with a new one; returns the new decision."""
    return await record_decision(
        uow,
        title=title,
        rationale=rationale,
        options=options,
        review_on=review_on,
        supersedes=decision,
        source_event_seq=source_event_seq,
        metadata=metadata,
    )


async def revoke_decision(
    uow: ObjectUnitOfWork, decision: Ref, *, reason: str | None = None, metadata: Metadata = None
) -> tuple[Decision, list[RecordedEvent]]:
    """Withdraw an active decision without putting another in its place."""
    found = await find(uow.decisions, decision, DECISION)
    require_status(DECISION, found.number, found.status, ("active",), "revoked")
    payload = {
        "number": found.number,
        "title": found.title,
        "from": found.status,
        "reason": optional_text(reason, "reason"),
    }
    recorded = await record(uow, [event(DECISION_REVOKED, DECISION, found.id, payload, metadata)])
    return await reload(uow.decisions, found.id), recorded


async def review_decision(
    uow: ObjectUnitOfWork, decision: Ref, *, outcome: str, metadata: Metadata = None
) -> tuple[Decision, list[RecordedEvent]]:
    """Record how a decision turned out (`decision.reviewed`), whatever its status: a
    superseded or revoked decision has an outcome too. A later review replaces it."""
    found = await find(uow.decisions, decision, DECISION)
    text = optional_text(outcome, "outcome")
    if text is None:
        raise InvalidInput("say how it turned out")
    before = {
        "outcome": found.outcome,
        "reviewed_at": found.reviewed_at.isoformat() if found.reviewed_at else None,
    }
    payload = {"number": found.number, "title": found.title, "outcome": text, "before": before}
    recorded = await record(uow, [event(DECISION_REVIEWED, DECISION, found.id, payload, metadata)])
    return await reload(uow.decisions, found.id), recorded


async def get_decision(uow: ObjectUnitOfWork, decision: Ref) -> Decision:
    return await find(uow.decisions, decision, DECISION)


async def page_decisions(
    uow: ObjectUnitOfWork,
    status: str | None = "active",
    after: str | None = None,
    limit: int = 100,
) -> Page[Decision]:
    """Newest first; status "all" or None lists every one."""
    status = status_asked(status, DECISION_STATUSES)
    return await page_of(
        "decisions",
        BY_NUMBER,
        after,
        limit,
        lambda key, n: uow.decisions.list(
            status, n, before=None if key is None else number(key[0])
        ),
        lambda decision: (decision.number,),
        lambda: total_of_status(uow.decisions.count_by_status(), status),
    )


def _review_day(value: date | str | None) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as e:
            raise InvalidInput(f"review_on must be a date like 2027-03-31, not {value!r}") from e
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidInput("review_on must be a date")
    return value
