import pytest

from domain.errors import InvalidInput, NotFound
from domain.notes import get_note, page_notes, record_note
from tests.fakes import InMemoryUnitOfWorkFactory


@pytest.fixture
def factory():
    return InMemoryUnitOfWorkFactory()


@pytest.fixture
async def uow(factory):
    async with factory(write=True) as uow:
        yield uow


async def test_record_note_records_one_event_and_a_row(uow, factory):
    note, [event] = await record_note(
        uow, title=" Wifi ", content=" password is on the router ", tags=["home"]
    )
    assert event.type == "note.recorded"
    assert (event.aggregate_type, event.aggregate_id) == ("note", note.id)
    assert event.payload == {
        "number": 1,
        "title": "Wifi",
        "content": "password is on the router",
        "tags": ["home"],
        "source_event_seq": None,
    }
    assert note.number == 1
    assert note.tags == ("home",)
    assert note.created_at == factory.clock.now()
    assert note.source_event_seq == event.seq
    assert await get_note(uow, 1) == note


async def test_numbers_and_source_link(uow):
    await record_note(uow, title="a")
    note, _ = await record_note(uow, title="b", content=None, source_event_seq=1)
    assert (note.number, note.content, note.source_event_seq) == (2, "", 1)


@pytest.mark.parametrize("kwargs", [{"title": ""}, {"title": "t", "content": 5}])
async def test_bad_input_is_refused(uow, kwargs):
    with pytest.raises(InvalidInput):
        await record_note(uow, **kwargs)
    assert (await uow.events.head()).last_seq == 0


async def test_search_ignores_case_in_title_and_content_newest_first(uow):
    await record_note(uow, title="Garden", content="plant TULIPS in October")
    await record_note(uow, title="Tulip bulbs", content="order from the shop")
    await record_note(uow, title="Car", content="service due")

    async def numbers(search=None, limit=100):
        page = await page_notes(uow, search, limit=limit)
        return [n.number for n in page.items], page.total

    assert await numbers("tulip") == ([2, 1], 2)
    assert await numbers() == ([3, 2, 1], 3)
    assert await numbers("  ") == ([3, 2, 1], 3)
    assert await numbers(limit=1) == ([3], 3)
    assert await numbers("boat") == ([], 0)
    assert await uow.notes.count() == 3


async def test_unknown_note_is_not_found(uow):
    with pytest.raises(NotFound, match="there is no note 4"):
        await get_note(uow, 4)
