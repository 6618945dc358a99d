"""Search on SQLite and PostgreSQL: what is found (any script, accents, emoji), what is not
(archived notes, a message as well as the object it made), the ranking, paging, a message
found as soon as it is acknowledged, a query that cannot break the database, and an index
that a rebuild and the migration give back exactly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.decisions import record_decision, review_decision
from domain.errors import InvalidInput
from domain.ingest import IngestService
from domain.messages import IncomingMessage
from domain.notes import archive_note, edit_note, record_note
from domain.rules_extractor import RulesExtractor
from domain.search import SearchPage, parse_query, search
from domain.search_index import SearchEntry
from domain.todos import complete_todo, create_todo, edit_todo
from domain.tracks import start_track
from infrastructure.database import create_engine
from infrastructure.migrate import downgrade, upgrade
from infrastructure.rebuild import rebuild_read_models
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.integration.test_rebuild import run_scenario


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade(engine, "dev")
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def factory(engine: AsyncEngine, clock: FakeClock) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine, clock)


async def find(factory: SqlUnitOfWorkFactory, query: str, **options: Any) -> SearchPage:
    async with factory() as uow:
        return await search(uow, query, **options)


async def found(factory: SqlUnitOfWorkFactory, query: str, **options: Any) -> list[tuple[str, int]]:
    return [(hit.kind, hit.number) for hit in (await find(factory, query, **options)).hits]


async def test_any_script_any_case_any_accent(factory):
    async with factory(write=True) as uow:
        await record_note(uow, title="Ärger im Büro", content="STRASSE und Straße")
        await record_note(uow, title="Привет", content="Ελλάδα, 東京タワーに行く, 서울에서 😀👍🏽")
        await create_todo(uow, title="café au lait ☕", description="naïve résumé", tags=["Küche"])
        await uow.commit()
    await IngestService(factory).ingest(IncomingMessage("Emoji 🎉🎉 party at ŁÓDŹ 🚀"))
    for query, expected in [
        ("arger", [("note", 1)]),
        ("ÄRGER", [("note", 1)]),
        ("strasse", [("note", 1)]),
        ("привет", [("note", 2)]),
        ("ПРИВЕТ", [("note", 2)]),
        ("ελλαδα", [("note", 2)]),
        ("東京", [("note", 2)]),
        ("タワー", [("note", 2)]),
        ("行く", [("note", 2)]),
        ("서울", [("note", 2)]),
        ("cafe", [("todo", 1)]),
        ("NAIVE resume", [("todo", 1)]),
        ("kuche", [("todo", 1)]),
        ("lodz party", [("message", 4)]),
        ("京東", []),
        ("東京 大阪", []),
    ]:
        assert await found(factory, query) == expected, query
    page = await find(factory, "emoji")
    assert page.hits[0].snippet == "«Emoji» 🎉🎉 party at ŁÓDŹ 🚀"
    assert (await find(factory, "ПРИВ")).hits[0].snippet == "«Привет»"  # a prefix


async def test_archived_notes_are_not_found_and_edits_are(factory):
    async with factory(write=True) as uow:
        await record_note(uow, title="wifi", content="the password is on the router")
        await record_note(uow, title="old wifi", content="the old router")
        await create_todo(uow, title="buy a router")
        await uow.commit()
    async with factory(write=True) as uow:
        await archive_note(uow, 2)
        await edit_note(uow, 1, content="the password is in the drawer")
        await edit_todo(uow, 1, title="return the modem")
        await complete_todo(uow, 1)
        await uow.commit()
    assert await found(factory, "router") == []
    assert await found(factory, "drawer") == [("note", 1)]
    assert await found(factory, "wifi") == [("note", 1)]
    assert [(h.title, h.status) for h in (await find(factory, "modem")).hits] == [
        ("return the modem", "done")
    ]


async def test_titles_rank_above_bodies_and_objects_above_messages(factory):
    await IngestService(factory).ingest(IncomingMessage("lantern lantern lantern"))
    async with factory(write=True) as uow:
        await record_note(uow, title="camping", content="bring the lantern and the tent")
        await start_track(uow, title="night walks", description="with a lantern")
        await record_decision(uow, title="Buy a lantern", rationale="dark evenings")
        await create_todo(uow, title="lantern", description="one lantern")
        await uow.commit()
    ranked = await found(factory, "lantern")
    assert ranked[:2] == [("todo", 1), ("decision", 1)]  # title and body, then title
    assert set(ranked[2:4]) == {("note", 1), ("track", 1)}  # body only, by bm25/ts_rank
    assert ranked[4:] == [("message", 1)]  # three times, but a message
    assert await found(factory, "lantern", types=["track", "message"]) == [
        ("track", 1),
        ("message", 1),
    ]


async def test_paging_sees_every_hit_once_in_rank_order(factory):
    async with factory(write=True) as uow:
        for n in range(150):
            await record_note(uow, title=f"note {n}", content=f"a paper lantern, {'x ' * n}")
        await uow.commit()
    await IngestService(factory).ingest_batch(
        [IncomingMessage(f"lantern number {n}") for n in range(100)]
    )
    whole = await find(factory, "lantern", limit=100)
    ranked = [(h.kind, h.number) for h in whole.hits]
    after, seen, pages = None, [], 0
    while True:
        page = await find(factory, "lantern", limit=7, after=after)
        assert page.total == 250
        seen += [(hit.kind, hit.number) for hit in page.hits]
        pages += 1
        if page.next is None:
            break
        after = page.next
    assert pages == 36 and len(seen) == 250 and len(set(seen)) == 250
    assert seen[:100] == ranked
    assert seen.index(("note", 1)) < seen.index(("note", 149))  # shorter body, better rank
    assert all(kind == "message" for kind, _ in seen[150:])
    said = [seq for _, seq in seen[150:]]
    assert said == sorted(said, reverse=True)  # messages newest first


async def test_a_query_can_never_break_the_database(factory):
    async with factory(write=True) as uow:
        await record_note(uow, title="near and or not", content="the wifi password")
        await uow.commit()
    for query in [
        '"NEAR"',
        "wifi*",
        "-wifi",
        "NOT wifi",
        "wifi OR pass",
        "title:wifi",
        "{title}: wifi",
        "NEAR(wifi pass, 2)",
        "^wifi",
        "wifi + pass",
        "(wifi",
        "'; DROP TABLE events; --",
        'wi"fi',
        "\\",
        "a:* & b <-> c",
        "%_%",
        "😀 wifi",
        "x" * 500,
        "ünïcödé ' \" ` $ \\x00",
    ]:
        try:
            page = await find(factory, query)
        except InvalidInput as e:  # nothing to look for in it
            assert "letters or digits" in str(e), query
        else:
            assert isinstance(page.total, int), query
    assert await found(factory, "NEAR AND") == [("note", 1)]
    assert await found(factory, "-wifi pass*") == [("note", 1)]


async def test_a_message_that_made_an_object_is_found_as_that_object_only(factory, clock):
    ingest = IngestService(factory, RulesExtractor(), clock)
    made = await ingest.ingest(IncomingMessage("note: Café Crème receipts in the blue folder"))
    said = await ingest.ingest(IncomingMessage("the creme brulee was great"))
    task = await ingest.ingest(IncomingMessage("todo: buy crème fraîche"))
    later = await ingest.ingest(IncomingMessage("Crème again, nothing to keep"))
    assert made.derived and task.derived and not said.derived and not later.derived
    expected_messages = [("message", later.event.seq), ("message", said.event.seq)]
    page = await find(factory, "creme")
    assert {(h.kind, h.number) for h in page.hits[:2]} == {("note", 1), ("todo", 1)}
    assert [(h.kind, h.number) for h in page.hits[2:]] == expected_messages
    assert page.total == 4 and page.next is None
    only = await find(factory, "creme", types=["message"])
    assert ([(h.kind, h.number) for h in only.hits], only.total) == (expected_messages, 2)
    assert await found(factory, "receipts blue") == [("note", 1)]
    assert await found(factory, "fraiche") == [("todo", 1)]

    after, seen = None, []  # a page at a time: each hit once, the total the same
    while True:
        one = await find(factory, "creme", limit=1, after=after)
        assert one.total == 4 and len(one.hits) == 1
        seen.append((one.hits[0].kind, one.hits[0].number))
        if (after := one.next) is None:
            break
    assert seen == [(h.kind, h.number) for h in page.hits]
    skipped = await find(factory, "creme", types=["message"], limit=1)
    rest = await find(factory, "creme", types=["message"], limit=1, after=skipped.next)
    assert [(h.kind, h.number) for h in skipped.hits + rest.hits] == expected_messages
    assert rest.total == 2 and rest.next is None

    async with factory(write=True) as uow:  # found as its note or not at all
        await archive_note(uow, 1)
        await uow.commit()
    assert await found(factory, "receipts") == []
    assert await found(factory, "creme") == [("todo", 1), *expected_messages]
    await rebuild_read_models(factory)
    assert await found(factory, "receipts") == []
    assert (await find(factory, "creme")).total == 3


async def test_any_text_is_recorded_and_as_much_as_can_be_is_indexed(factory):
    huge = " ".join(["w"] * 20_000) + " " + "x" * 3000 + " early " + "y " * 40_000 + "late"
    result = await IngestService(factory).ingest(IncomingMessage(huge))
    assert await found(factory, "early") == [("message", result.event.seq)]
    assert await found(factory, "late") == []  # past the first 100,000 characters


async def test_a_message_is_found_as_soon_as_it_is_acknowledged(container):
    ingest = container.ingest_service()  # group commit, as the service runs
    factory = container.uow_factory()

    async def said(n: int) -> list[tuple[str, int]]:
        result = await ingest.ingest(IncomingMessage(f"remember the quokka {n}"))
        hits = await found(factory, f"quokka {n}", types=["message"])
        assert hits == [("message", result.event.seq)]
        return hits

    await asyncio.gather(*(said(n) for n in range(20)))
    assert (await find(factory, "quokka")).total == 20


async def index_rows(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the search index holds, as the database holds it."""
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            queries = {
                "objects": "SELECT kind, number, status, title, body, document::text "
                "FROM search_objects ORDER BY kind, number",
                "messages": "SELECT seq, document::text FROM search_messages ORDER BY seq",
            }
        else:
            await conn.exec_driver_sql(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.message_words "
                "USING fts5vocab(main, search_messages, instance)"
            )
            queries = {
                "objects": "SELECT rowid, * FROM search_objects ORDER BY rowid",
                "messages": "SELECT doc, term, col, offset FROM temp.message_words "
                "ORDER BY doc, offset",
            }
        return {
            name: [tuple(row) for row in await conn.execute(text(query))]
            for name, query in queries.items()
        }


QUERIES = (
    "milk",
    "wifi",
    "arger",
    "strasse",
    "use",
    "hello",
    "batch",
    "key",
    "sqlite",
    "Ärger Büro",
    "done",
    "creme",
)


async def results(factory: SqlUnitOfWorkFactory) -> list[SearchPage]:
    return [await find(factory, query) for query in QUERIES]


async def scenario(factory: SqlUnitOfWorkFactory, clock: FakeClock) -> None:
    await run_scenario(factory, clock)
    async with factory(write=True) as uow:
        await archive_note(uow, 3)
        await edit_note(uow, 1, content="the wifi password is on the router")
        await review_decision(uow, 3, outcome="it worked, use it again")
        await uow.commit()
    await IngestService(factory).ingest_batch(
        [
            IncomingMessage("Ärger im Büro 😀"),
            IncomingMessage("東京タワー"),
            IncomingMessage("plain ascii, tabs\tand_underscores"),
        ]
    )
    derives = IngestService(factory, RulesExtractor(), clock)  # found as its note only
    await derives.ingest(IncomingMessage("note: Café Crème receipts in the blue folder"))
    await derives.ingest(IncomingMessage("crème, said and kept nowhere"))


async def test_a_rebuild_gives_back_the_same_index(engine, factory, clock):
    await scenario(factory, clock)
    live, answers = await index_rows(engine), await results(factory)
    assert len(live["objects"]) == 11 and live["messages"]
    assert [(hit.kind, hit.title) for hit in answers[-1].hits] == [
        ("note", "Café Crème receipts in the blue folder"),
        ("message", "crème, said and kept nowhere"),
    ]
    for page_size in (1, 3, 5000):
        await rebuild_read_models(factory, page_size=page_size)
        assert await index_rows(engine) == live
        assert await results(factory) == answers


async def test_the_migration_indexes_what_the_database_held(engine, factory, clock):
    await scenario(factory, clock)
    live, answers = await index_rows(engine), await results(factory)
    await downgrade(engine, "dev", "20261207_0008")
    await upgrade(engine, "dev")
    assert await index_rows(engine) == live
    assert await results(factory) == answers


def entry(number: int, title: str, status: str = "open") -> SearchEntry:
    return SearchEntry("todo", number, title, "", status)


async def titles(factory: SqlUnitOfWorkFactory, query: str) -> list[tuple[int, str, str]]:
    async with factory() as uow:
        hits, _ = await uow.search.find_objects(parse_query(query), ["todo"], offset=0, limit=10)
    return sorted((hit.number, hit.title, hit.status) for hit in hits)


async def test_a_writers_entries_last_one_wins_a_removal_holds_a_rollback_drops(factory):
    """A writer holds its objects' entries with its other rows until a read of the index
    or the commit (infrastructure/*/pending_rows.py): the result is as if each had been
    written at once."""
    async with factory(write=True) as uow:
        await uow.search.put(entry(1, "first words"))
        await uow.search.put(entry(2, "second words"))
        await uow.search.put(entry(1, "first words again", "done"))  # replaces entry 1
        hits, total = await uow.search.find_objects(
            parse_query("again"), ["todo"], offset=0, limit=10
        )  # a search in the writer sees what it holds
        assert (total, [hit.number for hit in hits]) == (1, [1])
        await uow.search.put(entry(3, "third words"))
        await uow.search.remove("todo", 3)  # a removal after a held entry removes it
        await uow.search.put(entry(2, "second words, changed"))
        await uow.commit()
    async with factory(write=True) as uow:
        await uow.search.put(entry(4, "words never committed"))
        # No commit: the unit of work rolls back.
    assert await titles(factory, "words") == [
        (1, "first words again", "done"),
        (2, "second words, changed", "open"),
    ]


async def test_entries_put_together_in_any_order_keep_the_last_of_each_object(factory):
    """`put_many` (a rebuild's page) may write in another order than it is given, as
    long as each object ends with the last entry given for it."""
    entries = [
        SearchEntry("note", 2, "second note", "", "active"),
        SearchEntry("todo", 9, "ninth todo words", "", "open"),
        SearchEntry("note", 1, "first note", "", "active"),
        SearchEntry("todo", 3, "third todo words", "", "open"),
        SearchEntry("todo", 9, "ninth todo words, changed", "", "done"),
    ]
    async with factory(write=True) as uow:
        await uow.search.put_many(entries)
        await uow.commit()
    assert await titles(factory, "words") == [
        (3, "third todo words", "open"),
        (9, "ninth todo words, changed", "done"),
    ]
    async with factory() as uow:
        hits, total = await uow.search.find_objects(
            parse_query("note"), ["note"], offset=0, limit=10
        )
    assert total == 2 and sorted(hit.number for hit in hits) == [1, 2]
