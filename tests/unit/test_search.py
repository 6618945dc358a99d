"""Search in the domain: the words, the query, the cursor, the snippets and the chat's
reply, over the in-memory fakes (the databases: tests/integration/test_search.py)."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from domain.notes import archive_note, record_note
from domain.replies import MAX_REPLY
from domain.search import (
    MAX_QUERY_CHARS,
    SearchHit,
    SearchPage,
    make_cursor,
    parse_kinds,
    parse_query,
    search,
    search_reply,
)
from domain.search_index import SEARCH_KINDS, Phrase, fold, phrase_of, words
from domain.snippets import snippet
from domain.todos import create_todo
from tests.fakes import InMemoryUnitOfWorkFactory


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ärger im Büro", ["arger", "im", "buro"]),
        ("STRASSE Straße", ["strasse", "strasse"]),
        ("Привет, МИР!", ["привет", "мир"]),
        ("ΕΛΛΆΔΑ ελλάδα", ["ελλαδα", "ελλαδα"]),
        ("東京タワーに行く", ["東", "京", "タ", "ワ", "ー", "に", "行", "く"]),
        ("서울에서", ["서", "울", "에", "서"]),
        ("wifi 😀👍🏽 password", ["wifi", "password"]),
        ("ＡＢＣ１２３ ﬁle", ["abc123", "file"]),
        ("e\u0301te\u0301 cafe\u0301", ["ete", "cafe"]),
        ("snake_case e-mail 1.5", ["snake", "case", "e", "mail", "1", "5"]),
        ("", []),
    ],
)
def test_words_are_folded_in_any_script(text, expected):
    assert words(text) == expected


def test_folding_keeps_ascii_cheap_and_the_same():
    assert fold("Hello World 42") == "hello world 42"


def test_a_query_word_is_a_phrase_the_last_word_a_prefix_when_long_enough():
    assert phrase_of("Pass") == Phrase(("pass",), True)
    assert phrase_of("go") == Phrase(("go",), False)
    assert phrase_of("e-mail") == Phrase(("e", "mail"), True)
    assert phrase_of("東京") == Phrase(("東", "京"), False)
    assert phrase_of("😀") is None
    assert parse_query("WiFi wifi Wi-Fi").phrases == (
        Phrase(("wifi",), True),
        Phrase(("wi", "fi"), False),
    )


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("", "say what to search for"),
        ("   \n\t", "say what to search for"),
        ("😀 !!! ---", "some letters or digits"),
        (" ".join(["word"] * 33), "at most 32 words"),
        ("a" * (MAX_QUERY_CHARS + 1), f"at most {MAX_QUERY_CHARS} characters"),
        (" ".join(["w"] * 1000), "at most"),
    ],
)
async def test_bad_queries_are_refused_before_the_index_is_asked(query, why):
    with pytest.raises(InvalidInput, match=why):
        parse_query(query)
    async with InMemoryUnitOfWorkFactory()() as uow:
        with pytest.raises(InvalidInput, match=why):
            await search(uow, query)


def test_kinds_are_checked():
    assert parse_kinds(None) == SEARCH_KINDS
    assert parse_kinds(["Note", " todo ", ""]) == ("todo", "note")
    with pytest.raises(InvalidInput, match="todos is not a kind"):
        parse_kinds(["todos"])
    with pytest.raises(InvalidInput, match="at least one kind"):
        parse_kinds([""])


def test_snippets_mark_every_match_in_the_original_spelling():
    query = parse_query("arger PASS")
    text = "Nothing but Ärger with the Wi-Fi password, again: ÄRGER."
    assert snippet(text, query) == (
        "Nothing but «Ärger» with the Wi-Fi «password», again: «ÄRGER»."
    )
    assert snippet("no match here", query) is None
    decomposed = "cafe\u0301 time"
    assert snippet(decomposed, parse_query("cafe")) == "«cafe\u0301» time"


def test_a_long_text_is_cut_around_the_first_match_at_spaces():
    text = " ".join(f"word{i}" for i in range(200)) + " the wifi password " + "x " * 300
    shown = snippet(text, parse_query("wifi"))
    assert shown is not None
    assert shown.startswith("…") and shown.endswith("…")
    assert "the «wifi» password" in shown
    assert len(shown) <= 170
    assert " word" in shown and not shown.startswith("…ord")


async def _objects(factory: InMemoryUnitOfWorkFactory) -> None:
    async with factory(write=True) as uow:
        await create_todo(uow, title="Fix the wifi", description="router in the hall")
        await record_note(
            uow, title="Home", content="the wifi password is on the router", tags=["home"]
        )
        old, _ = await record_note(uow, title="Old wifi", content="the old one")
        await archive_note(uow, old.number)
        await uow.commit()


async def test_the_fake_ranks_titles_first_and_leaves_archived_notes_out():
    factory = InMemoryUnitOfWorkFactory()
    await _objects(factory)
    async with factory() as uow:
        page = await search(uow, "wifi")
        assert [(hit.kind, hit.number) for hit in page.hits] == [("todo", 1), ("note", 1)]
        assert page.hits[1].snippet == "the «wifi» password is on the router #home"
        assert (await search(uow, "home", types=["note"])).total == 1
        assert (await search(uow, "wifi", types=["todo"])).total == 1


async def test_a_cursor_pages_its_own_search_and_nothing_else():
    factory = InMemoryUnitOfWorkFactory()
    await _objects(factory)
    async with factory() as uow:
        first = await search(uow, "wifi", limit=1)
        assert first.total == 2 and first.next is not None
        phrase = await search(uow, "wi-fi", limit=1)  # a phrase: not the same as "wi fi"
        with pytest.raises(InvalidInput, match="not a cursor of this search"):
            await search(
                uow,
                "wi fi",
                after=phrase.next or make_cursor(parse_query("wi-fi"), SEARCH_KINDS, 1),
            )
        second = await search(uow, "WIFI", limit=1, after=first.next)  # the same search
        assert [hit.kind for hit in second.hits] == ["note"] and second.next is None
        for other in [
            {"query": "router"},
            {"query": "wifi", "types": ["todo"]},
            {"query": "wi fi"},
        ]:
            with pytest.raises(InvalidInput, match="not a cursor of this search"):
                await search(uow, other["query"], types=other.get("types"), after=first.next)
        for junk in ["", "!!!", "czE6LTE6YWJj", "bm90IGEgY3Vyc29y", "42", "é"]:
            with pytest.raises(InvalidInput, match="not a cursor"):
                await search(uow, "wifi", after=junk)
        with pytest.raises(InvalidInput, match="limit"):
            await search(uow, "wifi", limit=0)
    past = make_cursor(parse_query("wifi"), SEARCH_KINDS, 50)
    async with factory() as uow:
        beyond = await search(uow, "wifi", after=past)
    assert beyond.hits == () and beyond.total == 2 and beyond.next is None


def test_the_reply_fits_a_telegram_message_and_says_how_many_more():
    hits = tuple(
        SearchHit("note", n, f"note {n} " + "t" * 100, "…the «wifi» " + "x" * 200, "active")
        for n in range(1, 101)
    )
    reply = search_reply(SearchPage(hits, "cursor", 250), "wifi")
    assert len(reply) <= MAX_REPLY
    assert reply.startswith("Found 250 for “wifi”:")
    shown = reply.count("\nnote #")
    assert reply.endswith(f"… and {250 - shown} more")
    assert search_reply(SearchPage((), None, 0), "wifi") == "Nothing found for “wifi”."
    one = SearchPage(
        (
            SearchHit("message", 7, "call anna", "call «anna»", None),
            SearchHit("todo", 3, "Fix wifi", "Fix «wifi»", "open"),
        ),
        None,
        2,
    )
    assert search_reply(one, "anna") == (
        "Found 2 for “anna”:\nmessage 7: call «anna»\ntodo #3 Fix «wifi» [open]"
    )


async def test_objects_come_first_then_messages_newest_first_across_pages():
    from domain.ingest import IngestService
    from domain.messages import IncomingMessage

    factory = InMemoryUnitOfWorkFactory()
    ingest = IngestService(factory)
    seqs = [(await ingest.ingest(IncomingMessage(f"the lantern {n}"))).event.seq for n in range(3)]
    async with factory(write=True) as uow:
        await create_todo(uow, title="lantern")
        await uow.commit()
    async with factory() as uow:
        first = await search(uow, "lantern", limit=2)
        second = await search(uow, "lantern", limit=2, after=first.next)
        only = await search(uow, "lantern", types=["message"], limit=1)
    assert [(h.kind, h.number) for h in first.hits + second.hits] == [
        ("todo", 1),
        ("message", seqs[2]),
        ("message", seqs[1]),
        ("message", seqs[0]),
    ]
    assert (first.total, second.total, second.next) == (4, 4, None)
    assert [(h.kind, h.number) for h in only.hits] == [("message", seqs[2])]
    assert only.total == 3


async def test_a_message_that_made_an_object_is_found_as_that_object_only():
    from domain.ingest import IngestService
    from domain.messages import IncomingMessage
    from domain.rules_extractor import RulesExtractor
    from tests.fakes import FakeClock

    factory = InMemoryUnitOfWorkFactory()
    ingest = IngestService(factory, RulesExtractor(), FakeClock())
    made = await ingest.ingest(IncomingMessage("note: Café Crème receipts in the blue folder"))
    said = await ingest.ingest(IncomingMessage("the creme brulee was great"))
    assert made.derived and not said.derived
    async with factory() as uow:
        page = await search(uow, "creme", limit=1)
        rest = await search(uow, "creme", limit=1, after=page.next)
        messages = await search(uow, "creme", types=["message"])
    assert [(h.kind, h.number) for h in page.hits + rest.hits] == [
        ("note", 1),
        ("message", said.event.seq),
    ]
    assert (page.total, rest.total, rest.next) == (2, 2, None)
    assert [(h.kind, h.number) for h in messages.hits] == [("message", said.event.seq)]
    assert messages.total == 1
    async with factory(write=True) as uow:
        await archive_note(uow, 1)
        await uow.commit()
    async with factory() as uow:
        archived = await search(uow, "creme")
    assert [(h.kind, h.number) for h in archived.hits] == [("message", said.event.seq)]
    assert archived.total == 1
