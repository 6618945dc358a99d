from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.changes import event, record
from domain.errors import Conflict, InvalidInput, NotFound
from domain.objects import TRACK, TRACK_CHECKED_IN
from domain.tracks import (
    check_in_track,
    finish_track,
    get_track,
    page_tracks,
    pause_track,
    resume_track,
    start_track,
)
from tests.fakes import InMemoryUnitOfWorkFactory


@pytest.fixture
def factory():
    return InMemoryUnitOfWorkFactory()


@pytest.fixture
async def uow(factory):
    async with factory(write=True) as uow:
        yield uow


async def test_start_records_one_event_and_an_active_track(uow, factory):
    track, [event] = await start_track(uow, title="Learn Greek", description="30 min a day")
    assert event.type == "track.started"
    assert (event.aggregate_type, event.aggregate_id) == ("track", track.id)
    assert event.payload == {
        "number": 1,
        "title": "Learn Greek",
        "description": "30 min a day",
        "check_in_every": 7,
        "source_event_seq": None,
    }
    assert track.status == "active"
    assert track.check_in_every == 7
    assert track.last_check_in_at is None
    assert track.created_at == track.updated_at == factory.clock.now()
    assert track.source_event_seq == event.seq


async def test_numbers_and_source_link(uow):
    await start_track(uow, title="a")
    track, _ = await start_track(uow, title="b", check_in_every=None, source_event_seq=1)
    assert (track.number, track.check_in_every, track.source_event_seq) == (2, 7, 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"title": " "},
        {"title": "t", "check_in_every": 0},
        {"title": "t", "check_in_every": 1.5},
        {"title": "t", "check_in_every": True},
    ],
)
async def test_bad_input_is_refused(uow, kwargs):
    with pytest.raises(InvalidInput):
        await start_track(uow, **kwargs)


async def test_check_in_pause_resume_finish(uow, factory):
    track, _ = await start_track(uow, title="run", check_in_every=2)
    factory.clock.advance(days=2)
    checked, [event] = await check_in_track(uow, 1, note=" 5 km ")
    assert event.type == "track.checked_in"
    assert event.payload == {
        "number": 1,
        "title": "run",
        "from": "active",
        "note": "5 km",
        "zone": "UTC",
        "before": {"last_check_in_at": None, "check_ins": 0, "streak": 0},
    }
    assert checked.last_check_in_at == checked.updated_at == factory.clock.now()
    assert checked.status == "active"

    factory.clock.advance(days=1)
    paused, [event] = await pause_track(uow, track.id)
    assert (event.type, event.payload) == (
        "track.paused",
        {"number": 1, "title": "run", "from": "active"},
    )
    assert paused.status == "paused"
    assert paused.last_check_in_at == checked.last_check_in_at
    assert paused.updated_at == factory.clock.now()

    resumed, [event] = await resume_track(uow, "1")
    assert (event.type, resumed.status) == ("track.resumed", "active")

    done, [event] = await finish_track(uow, 1)
    assert (event.type, done.status) == ("track.finished", "done")


async def test_a_paused_track_can_be_finished(uow):
    await start_track(uow, title="t")
    await pause_track(uow, 1)
    done, _ = await finish_track(uow, 1)
    assert done.status == "done"


@pytest.mark.parametrize(
    ("setup", "move", "message"),
    [
        ([pause_track], check_in_track, "track 1 is paused"),
        ([finish_track], check_in_track, "track 1 is done"),
        ([pause_track], pause_track, "track 1 is already paused"),
        ([finish_track], pause_track, "track 1 is done"),
        ([], resume_track, "track 1 is already active"),
        ([finish_track], resume_track, "track 1 is done"),
        ([finish_track], finish_track, "track 1 is already done"),
    ],
)
async def test_invalid_transitions_conflict_and_record_nothing(uow, setup, move, message):
    await start_track(uow, title="t")
    for step in setup:
        await step(uow, 1)
    seq = (await uow.events.head()).last_seq
    with pytest.raises(Conflict, match=message):
        await move(uow, 1)
    assert (await uow.events.head()).last_seq == seq


async def test_unknown_track_is_not_found(uow):
    with pytest.raises(NotFound, match="there is no track 2"):
        await check_in_track(uow, 2)
    with pytest.raises(NotFound):
        await get_track(uow, "not-an-id")


async def test_listing_and_counting(uow):
    for title in ("a", "b", "c"):
        await start_track(uow, title=title)
    await pause_track(uow, 1)
    await finish_track(uow, 3)
    assert [t.title for t in (await page_tracks(uow)).items] == ["a", "b", "c"]
    assert [t.title for t in (await page_tracks(uow, "active")).items] == ["b"]
    first = await page_tracks(uow, "all", limit=2)
    assert ([t.title for t in first.items], first.total) == (["a", "b"], 3)
    rest = await page_tracks(uow, "all", after=first.next, limit=2)
    assert ([t.title for t in rest.items], rest.next) == (["c"], None)
    assert await uow.tracks.count_by_status() == {"active": 1, "paused": 1, "done": 1}
    with pytest.raises(InvalidInput):
        await page_tracks(uow, "stalled")


async def test_the_streak_counts_the_owners_days_with_a_check_in(uow, factory):
    """Kolkata is UTC+5:30: 21:00 and 00:30 there are one UTC day (15:30 and 19:00 UTC)
    but two of the owner's days."""
    kolkata = ZoneInfo("Asia/Kolkata")
    await start_track(uow, title="meditate", check_in_every=1)

    async def check_in_at(local: datetime) -> tuple[int, int]:
        factory.clock.current = local.replace(tzinfo=kolkata).astimezone(UTC)
        track, [event] = await check_in_track(uow, 1, zone=kolkata)
        assert event.payload["zone"] == "Asia/Kolkata"
        return track.streak, track.check_ins

    assert await check_in_at(datetime(2026, 12, 7, 9, 0)) == (1, 1)
    assert await check_in_at(datetime(2026, 12, 7, 21, 0)) == (1, 2)  # the same day
    assert await check_in_at(datetime(2026, 12, 8, 0, 30)) == (2, 3)  # the next day
    assert await check_in_at(datetime(2026, 12, 10, 7, 0)) == (3, 4)  # a day of grace
    assert await check_in_at(datetime(2026, 12, 13, 7, 0)) == (1, 5)  # two days missed


async def test_a_check_in_recorded_without_a_zone_counts_utc_days(uow, factory):
    """Check-ins recorded before they named a zone (as a rebuild reads them): their
    days are UTC's."""
    track, _ = await start_track(uow, title="run", check_in_every=1)
    payload = {"number": 1, "title": "run", "from": "active", "note": None}
    for hour in (8, 20, 30):
        factory.clock.current = datetime(2026, 12, 7, tzinfo=UTC) + timedelta(hours=hour)
        await record(uow, [event(TRACK_CHECKED_IN, TRACK, track.id, payload, None)])
    found = await get_track(uow, 1)
    assert (found.streak, found.check_ins) == (2, 3)
