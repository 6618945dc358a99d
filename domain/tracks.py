"""Tracks: ongoing efforts checked in on every few days, until paused or done."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from domain.changes import (
    Ref,
    event,
    find,
    optional_text,
    record,
    reload,
    source_seq,
    status_asked,
    title_of,
    total_of_status,
    transition,
)
from domain.clock import zone_name
from domain.errors import Conflict, InvalidInput
from domain.events import RecordedEvent
from domain.extraction import MAX_CHECK_IN_DAYS
from domain.ids import new_uuid
from domain.listing import BY_NUMBER, Page, number, page_of
from domain.objects import (
    DEFAULT_CHECK_IN_EVERY,
    TRACK,
    TRACK_CHECKED_IN,
    TRACK_FINISHED,
    TRACK_PAUSED,
    TRACK_RESUMED,
    TRACK_STARTED,
    TRACK_STATUSES,
    Track,
)
from domain.repositories import ObjectUnitOfWork

__all__ = [
    "Track",
    "check_in_track",
    "finish_track",
    "get_track",
    "find_active_by_name",
    "page_tracks",
    "pause_track",
    "resume_track",
    "start_track",
]

Metadata = Mapping[str, Any] | None


async def start_track(
    uow: ObjectUnitOfWork,
    *,
    title: str,
    description: str | None = None,
    check_in_every: int | None = DEFAULT_CHECK_IN_EVERY,
    source_event_seq: int | None = None,
    metadata: Metadata = None,
    at: datetime | None = None,
) -> tuple[Track, list[RecordedEvent]]:
    """Conflict when a track of the same name (ignoring case) is active or paused."""
    if check_in_every is None:
        check_in_every = DEFAULT_CHECK_IN_EVERY
    if isinstance(check_in_every, bool) or not isinstance(check_in_every, int):
        raise InvalidInput("check_in_every must be a whole number of days")
    if not 1 <= check_in_every <= MAX_CHECK_IN_DAYS:
        raise InvalidInput(f"check_in_every must be from 1 to {MAX_CHECK_IN_DAYS} days")
    title = title_of(title, TRACK)
    if (same := await find_active_by_name(uow, title, exact=True)) is not None:
        raise Conflict(f"already tracking {same.title} as #{same.number}")
    payload = {
        "title": title,
        "description": optional_text(description, "description"),
        "check_in_every": check_in_every,
        "source_event_seq": source_seq(source_event_seq),
        "number": await uow.tracks.next_number(),
    }
    track_id = new_uuid()
    recorded = await record(uow, [event(TRACK_STARTED, TRACK, track_id, payload, metadata, at)])
    return await reload(uow.tracks, track_id), recorded


async def check_in_track(
    uow: ObjectUnitOfWork,
    track: Ref,
    *,
    note: str | None = None,
    zone: tzinfo = UTC,
    metadata: Metadata = None,
) -> tuple[Track, list[RecordedEvent]]:
    """A check-in now. The event names the owner's `zone`: the streak counts the days
    with a check-in in it, so a second check-in on one of the owner's days adds none
    (domain/projections.py), whatever the zone is later."""
    found = await find(uow.tracks, track, TRACK)
    # What the check-in replaces, so that an undo can put it back exactly.
    before = {
        "last_check_in_at": found.last_check_in_at.isoformat() if found.last_check_in_at else None,
        "check_ins": found.check_ins,
        "streak": found.streak,
    }
    extra = {"note": optional_text(note, "note"), "zone": zone_name(zone), "before": before}
    track = found.id
    return await transition(
        uow, uow.tracks, TRACK, track, TRACK_CHECKED_IN, ("active",), "active", metadata, extra
    )


async def pause_track(
    uow: ObjectUnitOfWork, track: Ref, *, metadata: Metadata = None
) -> tuple[Track, list[RecordedEvent]]:
    return await transition(
        uow, uow.tracks, TRACK, track, TRACK_PAUSED, ("active",), "paused", metadata
    )


async def resume_track(
    uow: ObjectUnitOfWork, track: Ref, *, metadata: Metadata = None
) -> tuple[Track, list[RecordedEvent]]:
    return await transition(
        uow, uow.tracks, TRACK, track, TRACK_RESUMED, ("paused",), "active", metadata
    )


async def finish_track(
    uow: ObjectUnitOfWork, track: Ref, *, metadata: Metadata = None
) -> tuple[Track, list[RecordedEvent]]:
    return await transition(
        uow, uow.tracks, TRACK, track, TRACK_FINISHED, ("active", "paused"), "done", metadata
    )


async def get_track(uow: ObjectUnitOfWork, track: Ref) -> Track:
    return await find(uow.tracks, track, TRACK)


async def page_tracks(
    uow: ObjectUnitOfWork,
    status: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> Page[Track]:
    """Tracks by number; status "all" or None lists every one."""
    status = status_asked(status, TRACK_STATUSES)
    return await page_of(
        "tracks",
        BY_NUMBER,
        after,
        limit,
        lambda key, n: uow.tracks.list(status, n, after=None if key is None else number(key[0])),
        lambda track: (track.number,),
        lambda: total_of_status(uow.tracks.count_by_status(), status),
    )


async def find_active_by_name(
    uow: ObjectUnitOfWork, text: str, *, exact: bool = False
) -> Track | None:
    """The active or paused track whose title is `text` (ignoring case and spacing) or,
    unless `exact`, the longest such title `text` starts with ("running 5 km easy" names
    the track "running")."""
    wanted = " ".join(text.split()).casefold()
    best: Track | None = None
    for status in ("active", "paused"):
        count = (await uow.tracks.count_by_status())[status]
        for candidate in await uow.tracks.list(status, count) if count else []:
            name = " ".join(candidate.title.split()).casefold()
            if name == wanted:
                return candidate
            if (
                not exact
                and (wanted.startswith(name + " "))
                and (best is None or len(name) > len(best.title))
            ):
                best = candidate
    return best
