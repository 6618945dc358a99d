import pytest

from domain.decisions import (
    get_decision,
    page_decisions,
    record_decision,
    revoke_decision,
    supersede_decision,
)
from domain.errors import Conflict, InvalidInput, NotFound
from tests.fakes import InMemoryUnitOfWorkFactory


@pytest.fixture
def factory():
    return InMemoryUnitOfWorkFactory()


@pytest.fixture
async def uow(factory):
    async with factory(write=True) as uow:
        yield uow


async def test_record_records_one_event_and_an_active_decision(uow, factory):
    decision, [event] = await record_decision(
        uow, title="Use SQLite", rationale="one user", options=["SQLite", "PostgreSQL", ""]
    )
    assert event.type == "decision.recorded"
    assert (event.aggregate_type, event.aggregate_id) == ("decision", decision.id)
    assert event.payload == {
        "number": 1,
        "title": "Use SQLite",
        "rationale": "one user",
        "options": ["SQLite", "PostgreSQL"],
        "supersedes": None,
        "source_event_seq": None,
    }
    assert decision.status == "active"
    assert decision.options == ("SQLite", "PostgreSQL")
    assert decision.decided_at == decision.updated_at == factory.clock.now()
    assert (decision.supersedes, decision.superseded_by) == (None, None)
    assert decision.source_event_seq == event.seq


async def test_source_message_is_linked(uow):
    await record_decision(uow, title="a")
    decision, _ = await record_decision(uow, title="b", source_event_seq=1)
    assert (decision.number, decision.source_event_seq) == (2, 1)


@pytest.mark.parametrize("kwargs", [{"title": ""}, {"title": "t", "rationale": 3}])
async def test_bad_input_is_refused(uow, kwargs):
    with pytest.raises(InvalidInput):
        await record_decision(uow, **kwargs)


async def test_supersede_links_both_ways(uow, factory):
    old, _ = await record_decision(uow, title="Use SQLite")
    factory.clock.advance(days=30)
    new, [recorded, superseded] = await supersede_decision(
        uow, 1, title="Use PostgreSQL", rationale="two processes", source_event_seq=1
    )
    assert recorded.type == "decision.recorded"
    assert recorded.aggregate_id == new.id
    assert recorded.payload["supersedes"] == old.id
    assert superseded.type == "decision.superseded"
    assert superseded.aggregate_id == old.id
    assert superseded.payload == {
        "number": 1,
        "title": "Use SQLite",
        "from": "active",
        "superseded_by": new.id,
        "superseded_by_number": 2,
    }
    assert (new.number, new.status, new.supersedes) == (2, "active", old.id)
    assert new.source_event_seq == 1
    old_now = await get_decision(uow, old.id)
    assert (old_now.status, old_now.superseded_by) == ("superseded", new.id)
    assert old_now.updated_at == factory.clock.now()
    assert old_now.decided_at == old.decided_at


async def test_record_with_supersedes_is_the_same_as_supersede(uow):
    old, _ = await record_decision(uow, title="a")
    new, events = await record_decision(uow, title="b", supersedes="1")
    assert [e.type for e in events] == ["decision.recorded", "decision.superseded"]
    assert (await get_decision(uow, 1)).superseded_by == new.id


async def test_revoke(uow):
    decision, _ = await record_decision(uow, title="a")
    revoked, [event] = await revoke_decision(uow, decision.id, reason="changed my mind")
    assert event.type == "decision.revoked"
    assert event.payload == {
        "number": 1,
        "title": "a",
        "from": "active",
        "reason": "changed my mind",
    }
    assert (revoked.status, revoked.superseded_by) == ("revoked", None)


@pytest.mark.parametrize(
    ("setup", "attempt", "message"),
    [
        ("supersede", "supersede", "decision 1 is already superseded"),
        ("revoke", "supersede", "decision 1 is revoked"),
        ("supersede", "revoke", "decision 1 is superseded"),
        ("revoke", "revoke", "decision 1 is already revoked"),
    ],
)
async def test_invalid_transitions_conflict_and_record_nothing(uow, setup, attempt, message):
    async def act(what):
        if what == "supersede":
            await supersede_decision(uow, 1, title="next")
        else:
            await revoke_decision(uow, 1)

    await record_decision(uow, title="first")
    await act(setup)
    seq = (await uow.events.head()).last_seq
    with pytest.raises(Conflict, match=message):
        await act(attempt)
    assert (await uow.events.head()).last_seq == seq


async def test_unknown_decision_is_not_found_and_nothing_is_recorded(uow):
    with pytest.raises(NotFound, match="there is no decision 7"):
        await supersede_decision(uow, 7, title="x")
    with pytest.raises(NotFound):
        await revoke_decision(uow, "nope")
    assert (await uow.events.head()).last_seq == 0


async def test_listing_newest_first_and_counting(uow):
    await record_decision(uow, title="a")
    await supersede_decision(uow, 1, title="b")
    await record_decision(uow, title="c")
    await revoke_decision(uow, 3)
    await record_decision(uow, title="d")
    assert [d.title for d in (await page_decisions(uow)).items] == ["d", "b"]
    assert [d.title for d in (await page_decisions(uow, "superseded")).items] == ["a"]
    first = await page_decisions(uow, "all", limit=3)
    assert ([d.title for d in first.items], first.total) == (["d", "c", "b"], 4)
    rest = await page_decisions(uow, "all", after=first.next, limit=3)
    assert ([d.title for d in rest.items], rest.next) == (["a"], None)
    assert await uow.decisions.count_by_status() == {
        "active": 2,
        "superseded": 1,
        "revoked": 1,
    }
    with pytest.raises(InvalidInput):
        await page_decisions(uow, "maybe")
