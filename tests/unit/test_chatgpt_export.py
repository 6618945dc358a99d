"""Reading a ChatGPT export: whose messages, which parts, in what order, and bad files."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infrastructure.chatgpt.export import (
    MAX_FILE_BYTES,
    MAX_TEXT,
    ChatGPTExportError,
    parse_export,
    read_export,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "chatgpt"
EXPORT = FIXTURES / "conversations.json"


def user(
    mid: str, *parts, create_time: float | None = 1717000000.0, content_type: str = "text"
) -> dict:
    return {
        "id": mid,
        "author": {"role": "user"},
        "create_time": create_time,
        "content": {"content_type": content_type, "parts": list(parts)},
    }


def conversation(*messages, create_time: float | None = 1716000000.0, **extra) -> dict:
    mapping = {"root": {"id": "root", "message": None, "parent": None, "children": []}}
    for message in messages:
        mapping[message["id"]] = {
            "id": message["id"],
            "message": message,
            "parent": "root",
            "children": [],
        }
    return {
        "title": "T",
        "create_time": create_time,
        "conversation_id": "conv-1",
        "mapping": mapping,
        **extra,
    }


def texts(data) -> list[str]:
    return [m.text for m in parse_export(data).messages]


def test_the_fixture_yields_the_owners_text_messages_in_time_order():
    export = read_export(EXPORT)
    assert export.conversations == 4
    assert export.found == 10
    assert dict(export.skipped) == {"empty": 2, "not text": 1}
    assert [m.source_id for m in export.messages] == [
        "c-u1",
        "c-u4",
        "a-u1",
        "a-u2",
        "a-u2b",
        "b-u1",
        "d-u1",
    ]
    first = export.messages[0]
    assert first.text == "note: Grüße aus Köln — 日本語のメモ #ideas"
    assert first.source == "chatgpt" and first.author == "owner"
    assert first.conversation_id == "6650f1a0-cccc-4c4c-8c8c-000000000003"
    assert first.metadata == {"conversation_title": "Notes — Ünïcödé 日本"}


def test_both_branches_of_an_edited_message_are_kept():
    texts_by_id = {m.source_id: m.text for m in read_export(EXPORT).messages}
    assert texts_by_id["a-u2"] == "Should I move to Berlin or stay in Lyon?"
    assert texts_by_id["a-u2b"] == "decide: move to Berlin because the job is better"


def test_multimodal_keeps_the_strings_and_drops_image_pointers():
    image = {"content_type": "image_asset_pointer", "asset_pointer": "file-service://x"}
    data = [
        conversation(
            user(
                "m1",
                image,
                "What plant is this? 🌱",
                "",
                "second part",
                content_type="multimodal_text",
            )
        )
    ]
    assert texts(data) == ["What plant is this? 🌱\nsecond part"]


def test_only_the_owners_messages_count():
    data = [
        conversation(
            *[
                {**user(f"m-{role}", f"said by {role}"), "author": {"role": role}}
                for role in ("system", "assistant", "tool", "user")
            ]
        )
    ]
    export = parse_export(data)
    assert export.found == 1 and texts(data) == ["said by user"]


def test_timestamps_are_utc_and_fall_back_to_the_conversation():
    data = [
        conversation(
            user("m1", "dated", create_time=1717000010.5),
            user("m2", "undated", create_time=None),
            create_time=1716000000,
        )
    ]
    by_text = {m.text: m.occurred_at for m in parse_export(data).messages}
    assert by_text["dated"] == datetime(2024, 5, 29, 16, 26, 50, 500000, tzinfo=UTC)
    assert by_text["undated"] == datetime(2024, 5, 18, 2, 40, tzinfo=UTC)


def test_messages_with_no_time_at_all_come_last_and_have_none():
    data = [
        conversation(user("late", "no time", create_time=None), create_time=None),
        conversation(user("m2", "dated", create_time=1.0e9)),
    ]
    messages = parse_export(data).messages
    assert [m.text for m in messages] == ["dated", "no time"]
    assert messages[1].occurred_at is None


def test_equal_times_keep_the_files_order():
    data = [conversation(*[user(f"m{i}", f"text {i}", create_time=5.0) for i in range(5)])]
    assert texts(data) == [f"text {i}" for i in range(5)]


@pytest.mark.parametrize("bad_time", ["2024-01-01", True, float("nan"), 1e30, [], {}])
def test_an_unusable_create_time_falls_back(bad_time):
    data = [conversation(user("m1", "x", create_time=bad_time), create_time=1716000000)]
    [message] = parse_export(data).messages
    assert message.occurred_at == datetime(2024, 5, 18, 2, 40, tzinfo=UTC)


def test_bad_messages_are_skipped_and_counted_by_reason():
    data = [
        conversation(
            user("ok", "fine"),
            user("empty", ""),
            user("blank", "  ", "\n\t"),
            user("nul-only", "\x00"),
            user("code", "print(1)", content_type="code"),
            {"id": "no-content", "author": {"role": "user"}},
            {
                "id": "bad-parts",
                "author": {"role": "user"},
                "content": {"content_type": "text", "parts": "not a list"},
            },
            user("x" * 201, "id too long"),
        )
    ]
    export = parse_export(data)
    assert [m.text for m in export.messages] == ["fine"]
    assert export.found == 8
    assert dict(export.skipped) == {"empty": 3, "not text": 1, "malformed": 3}


def test_a_node_that_is_not_an_object_is_counted_as_malformed():
    data = conversation(user("ok", "fine"))
    data["mapping"]["junk"] = "not a node"
    export = parse_export([data])
    assert export.found == 2 and dict(export.skipped) == {"malformed": 1}


def test_the_same_message_id_twice_is_imported_once():
    data = [
        conversation(user("m1", "first")),
        {**conversation(user("m1", "first")), "conversation_id": "conv-2"},
    ]
    export = parse_export(data)
    assert texts(data) == ["first"] and dict(export.skipped) == {"duplicate id": 1}


def test_text_is_cleaned_of_what_databases_refuse():
    data = [conversation(user("m1", "a\x00b \ud83d alone"), user("m2", "pair 😀 ok"))]
    export = parse_export(data)
    assert texts(data) == ["ab \ufffd alone", "pair 😀 ok"]
    assert export.cleaned == 1
    for message in export.messages:
        message.text.encode("utf-8")  # would raise on a lone surrogate


def test_long_text_is_truncated_to_the_api_cap():
    data = [conversation(user("m1", "é" * (MAX_TEXT + 5)), user("m2", "y" * MAX_TEXT))]
    export = parse_export(data)
    assert [len(m.text) for m in export.messages] == [MAX_TEXT, MAX_TEXT]
    assert export.truncated == 1


def test_a_conversation_with_id_instead_of_conversation_id():
    data = conversation(user("m1", "x"))
    del data["conversation_id"]
    data["id"] = "conv-by-id"
    [message] = parse_export([data]).messages
    assert message.conversation_id == "conv-by-id"


def test_an_empty_export_is_valid():
    export = parse_export([])
    assert export.conversations == 0 and export.messages == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("not_json.json", "is not valid JSON"),
        ("dict_not_list.json", "expected a JSON list of conversations, found a JSON object"),
        ("no_mapping.json", "conversation #2 ('Missing its mapping') has no 'mapping' object"),
    ],
)
def test_broken_fixtures_are_refused_with_a_clear_error(name, expected):
    with pytest.raises(ChatGPTExportError, match=re.escape(expected)):
        read_export(FIXTURES / "broken" / name)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfe[]", "is not UTF-8"),
        (b"PK\x03\x04rest-of-a-zip", "is a ZIP archive: unzip the export"),
        (b"", "is not valid JSON"),
        (b"[1, 2]", "conversation #1 is a JSON number, not an object"),
        (b"[" * 100_000, "nested too deeply|not valid JSON"),
    ],
)
def test_files_that_are_not_exports(tmp_path, content, expected):
    path = tmp_path / "conversations.json"
    path.write_bytes(content)
    with pytest.raises(ChatGPTExportError, match=expected):
        read_export(path)


def test_a_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([conversation(user("m1", "x"))]).encode())
    assert len(read_export(path).messages) == 1


def test_a_missing_file_or_a_directory_is_refused(tmp_path):
    with pytest.raises(ChatGPTExportError, match="no such file"):
        read_export(tmp_path / "missing.json")
    with pytest.raises(ChatGPTExportError, match="is a directory"):
        read_export(tmp_path)


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "conversations.json"
    with path.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: takes no disk space
    with pytest.raises(ChatGPTExportError, match="the limit is 512 MB"):
        read_export(path)
