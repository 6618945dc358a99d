"""The index's words have one spelling (domain.search_index.words); the backends' spellings
of it are held to it here on awkward inputs: SQLite's `ascii` tokenizer over an ASCII
text given as it is (the messages' fast path, live and in a rebuild), and PostgreSQL's
tsvector and tsquery literals."""

from __future__ import annotations

import json
import random
import sqlite3
import string

import pytest

from domain.search import parse_query
from domain.search_index import MAX_INDEXED_CHARS, words
from infrastructure.postgres.search import tsquery, tsvector
from infrastructure.sqlite.search import (
    document,
    match_expression,
    message_document,
    reindex_messages,
)

AWKWARD = [
    "Call_the plumber!!! re: #kitchen-sink (42) at 9:30",
    "tabs\tand\nnew\r\nlines, UPPER lower MiXeD",
    "\x01\x02control\x1fchars\x7fdel",
    "   leading and trailing   ",
    "quotes \"NEAR\" 'AND' OR NOT * - : ^ ( ) { } [ ] + .",
    "",
    "a",
    string.printable,
    "Ärger im Büro, Привет мир, 東京タワー, ΕΛΛΆΔΑ, 😀 emoji",
    "ascii then é",
]


def _random_ascii(seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(string.printable + "\x01\x7f_") for _ in range(rng.randint(0, 80)))


def _tokens(db: sqlite3.Connection, body: str) -> list[str]:
    """What FTS5's `ascii` tokenizer makes of `body`, in order."""
    db.execute("DELETE FROM t")
    db.execute("INSERT INTO t (rowid, body) VALUES (1, ?)", (body,))
    return [term for (term,) in db.execute("SELECT term FROM v WHERE doc = 1 ORDER BY offset")]


@pytest.fixture
def db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'ascii')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    return db


@pytest.mark.parametrize("text", AWKWARD + [_random_ascii(seed) for seed in range(200)])
def test_sqlite_tokenizes_what_it_is_given_into_the_domains_words(db, text):
    assert _tokens(db, message_document(text)) == words(text)
    assert _tokens(db, document(text)) == words(text)
    if text.isascii():
        assert message_document(text) == text  # the fast path: no folding in Python


def test_sqlite_reindexes_a_messages_words_as_its_append_did(db):
    db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, type TEXT, payload TEXT)")
    db.execute(
        "CREATE VIRTUAL TABLE search_messages USING fts5(body, content = '', "
        "columnsize = 0, tokenize = 'ascii')"
    )
    # Cut after MAX_INDEXED_CHARS both ways. (A word of over 32 KiB is cut by FTS5 itself,
    # and one of over 2047 bytes left out by PostgreSQL: nothing a query can ask for.)
    long = "ab " * (MAX_INDEXED_CHARS // 3) + "cd efgh"
    texts = [*AWKWARD, long, "é" + long]
    db.executemany(
        "INSERT INTO events VALUES (?, 'message.ingested', ?)",
        [(seq, json.dumps({"text": text})) for seq, text in enumerate(texts, 1)],
    )
    # Not a text, and not a message: neither is indexed, as neither is when appended.
    db.execute(
        """INSERT INTO events VALUES (?, 'message.ingested', '{"text": 7}')""", (len(texts) + 1,)
    )
    db.execute(
        """INSERT INTO events VALUES (?, 'note.recorded', '{"text": "x"}')""", (len(texts) + 2,)
    )
    reindex_messages(db, 0, len(texts) + 2)
    db.execute("CREATE VIRTUAL TABLE m USING fts5vocab(search_messages, 'instance')")
    rebuilt = db.execute("SELECT doc, term FROM m ORDER BY doc, offset").fetchall()
    expected = [(seq, word) for seq, text in enumerate(texts, 1) for word in words(text)]
    assert rebuilt == expected


def test_an_fts5_expression_cannot_be_broken_by_the_query(db):
    db.execute("INSERT INTO t (rowid, body) VALUES (1, 'near and or not the wifi password')")
    for query in [
        '"NEAR" AND',
        "wifi OR",
        "NOT wifi",
        "-wifi",
        "wifi*",
        "body:wifi",
        "(wifi",
        "^wifi",
        "wifi +pass",
        'wi"fi',
        "{body}: wifi",
        "NEAR(wifi pass)",
    ]:
        expression = match_expression(parse_query(query))
        db.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,)).fetchall()
    assert match_expression(parse_query('e-mail "wifi" 東京')) == (
        '"e mail" * AND "wifi" * AND "東 京"'
    )


def test_postgres_literals_hold_the_domains_words():
    assert tsvector(("Fix the WiFi", "A"), ("the wifi, again", "B")) == (
        "'fix':1A 'the':2A 'wifi':3A 'the':4B 'wifi':5B 'again':6B"
    )  # the server merges
    assert tsvector(("", "A")) == ""
    long_word = "x" * 3000
    assert tsvector((f"a {long_word} b", "B")) == "'a':1B 'b':3B"  # PostgreSQL's limit
    many = tsvector((" ".join(["w"] * 16390), "B")).split()
    assert many[16381:] == ["'w':16382B", "'w':16383B"] + ["'w':16383B"] * 7
    assert tsquery(parse_query("e-mail Wifi 東京 go")) == (
        "('e' <-> 'mail':*) & ('wifi':*) & ('東' <-> '京') & ('go')"
    )


def _spelled(*fields: tuple[str, str]) -> str:
    """tsvector's literal as its docstring says it, one f-string a lexeme."""
    lexemes, at = [], 0
    for value, weight in fields:
        found = words(value)
        lexemes += [
            f"'{word}':{min(position, 16383)}{weight}"
            for position, word in enumerate(found, at + 1)
            if len(word.encode()) <= 2047
        ]
        at += len(found)
    return " ".join(lexemes)


def test_the_premade_lexeme_ends_spell_what_one_f_string_a_lexeme_does():
    """Positions up to 1024 take ends made once; later ones, and texts with a very long
    word, are spelled one by one: the literal is the same either way."""
    text = "Ärger über 東京 e-mail wifi2 ünïcode"
    for fields in [
        ((text, "B"),),
        (("Fix the WiFi", "A"), ("", "B"), (text, "B")),
        ((" ".join(["w"] * 1024), "B"),),  # exactly the premade ends
        ((" ".join(["w"] * 1020), "A"), ("across the end of them", "B")),  # the second field
        (("x" * 600 + " short", "A"), (text, "B")),  # a long word: one by one
        (("", "A"), ("", "B")),
    ]:
        assert tsvector(*fields) == _spelled(*fields)
