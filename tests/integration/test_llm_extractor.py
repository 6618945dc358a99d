"""The OpenAI-compatible extractor against the stand-in server on loopback."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from domain.extraction import (
    MAX_ITEMS,
    MAX_TITLE_LENGTH,
    ExtractedDecision,
    ExtractedNote,
    ExtractedTodo,
    ExtractedTrack,
    Extraction,
)
from domain.rules_extractor import RulesExtractor
from infrastructure.extractors.llm import MAX_INPUT_CHARS, OpenAICompatibleExtractor
from tests.support.llm_stub import LlmStub

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # a Thursday
API_KEY = "sk-test-ONLY-never-leak-7f3a9c"
MODEL = "stub-gpt-test"
TEXT = "remind me to call the bank tomorrow, it is urgent"


@pytest.fixture
async def stub() -> AsyncIterator[LlmStub]:
    async with LlmStub() as running:
        yield running


@pytest.fixture
async def extractor(stub: LlmStub) -> AsyncIterator[OpenAICompatibleExtractor]:
    llm = OpenAICompatibleExtractor(stub.base_url, API_KEY, MODEL, 2.0, RulesExtractor())
    yield llm
    await llm.aclose()


class RecordingFallback:
    """Stands in for the rules so a test can see exactly what the fallback returned."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime]] = []

    async def extract(self, text: str, *, now: datetime) -> Extraction:
        self.calls.append((text, now))
        return Extraction(items=(ExtractedNote("from fallback", text),), extractor="rules")


async def test_valid_items_come_back_from_the_llm(
    stub: LlmStub, extractor: OpenAICompatibleExtractor
) -> None:
    stub.respond_with_items(
        [
            {
                "kind": "todo",
                "title": "Call the bank",
                "priority": "urgent",
                "due": "2026-11-27",
                "tags": ["#Money", "money", "bank"],
            },
            {"kind": "note", "title": "Bank hours", "content": "9 to 5", "tags": []},
            {"kind": "track", "title": "Savings", "description": None, "check_in_every": 30},
            {"kind": "decision", "title": "Stay", "rationale": " cheap ", "options": ["a", "b"]},
        ]
    )

    result = await extractor.extract(TEXT, now=NOW)

    assert result == Extraction(
        items=(
            ExtractedTodo("Call the bank", None, "urgent", date(2026, 11, 27), ("money", "bank")),
            ExtractedNote("Bank hours", "9 to 5"),
            ExtractedTrack("Savings", None, 30),
            ExtractedDecision("Stay", "cheap", ("a", "b")),
        ),
        extractor="llm",
        model=MODEL,
    )
    [request] = stub.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == MODEL
    assert request.body["temperature"] == 0
    assert request.body["response_format"] == {"type": "json_object"}
    system, user = request.body["messages"]
    assert system["role"] == "system" and "2026-11-26 (Thursday)" in system["content"]
    assert "09:30 in Europe/Berlin" in system["content"]
    assert user == {"role": "user", "content": TEXT}


async def test_no_authorization_header_without_a_key(stub: LlmStub) -> None:
    llm = OpenAICompatibleExtractor(stub.base_url, None, MODEL, 2.0, RulesExtractor())
    try:
        result = await llm.extract(TEXT, now=NOW)
    finally:
        await llm.aclose()
    assert result.extractor == "llm"
    assert "Authorization" not in stub.requests[0].headers


async def test_output_is_capped(stub: LlmStub, extractor: OpenAICompatibleExtractor) -> None:
    long_title = "word " * 100
    stub.respond_with_items([{"kind": "todo", "title": long_title}] * (MAX_ITEMS + 5))

    result = await extractor.extract(TEXT, now=NOW)

    assert result.extractor == "llm"
    assert len(result.items) == MAX_ITEMS
    assert all(len(item.title) <= MAX_TITLE_LENGTH for item in result.items)


async def test_prefixed_text_goes_to_the_rules_without_a_call(
    stub: LlmStub, extractor: OpenAICompatibleExtractor
) -> None:
    result = await extractor.extract("todo: call the bank tomorrow", now=NOW)

    assert result == Extraction(
        items=(ExtractedTodo("call the bank", due=date(2026, 11, 27)),), extractor="rules"
    )
    assert stub.requests == []


async def test_fallback_extraction_is_returned_with_the_reason(stub: LlmStub) -> None:
    fallback = RecordingFallback()
    llm = OpenAICompatibleExtractor(stub.base_url, API_KEY, MODEL, 2.0, fallback)
    stub.respond_with_content("not json")
    try:
        result = await llm.extract(TEXT, now=NOW)
    finally:
        await llm.aclose()

    assert fallback.calls == [(TEXT, NOW)]
    assert result.items == (ExtractedNote("from fallback", TEXT),)
    assert result.extractor == "rules" and result.model is None
    assert result.fallback_reason == "invalid output: not json"


def todo(**fields: Any) -> dict[str, Any]:
    return {"kind": "todo", "title": "x", **fields}


INVALID_CONTENT: dict[str, str | None] = {
    "not json": "sure! here you go",
    "no content": None,
    "not an object": '["todo"]',
    "no items key": '{"things": []}',
    "items not a list": '{"items": {"kind": "todo"}}',
}
INVALID_ITEMS: dict[str, dict[str, Any]] = {
    "unknown kind": {"kind": "reminder", "title": "x"},
    "no kind": {"title": "x"},
    "no title": {"kind": "note", "content": "c"},
    "blank title": todo(title="   "),
    "title not a string": todo(title=42),
    "unknown priority": todo(priority="asap"),
    "priority a number": todo(priority=5),
    "due not iso": todo(due="tomorrow"),
    "tags a string": todo(tags="a,b"),
    "tag not a string": todo(tags=[1]),
    "extra key": todo(assignee="me"),
    "check-in as string": {"kind": "track", "title": "x", "check_in_every": "7"},
    "check-in zero": {"kind": "track", "title": "x", "check_in_every": 0},
    "check-in as float": {"kind": "track", "title": "x", "check_in_every": 7.0},
    "note without content": {"kind": "note", "title": "x"},
}


@pytest.mark.parametrize("content", INVALID_CONTENT.values(), ids=INVALID_CONTENT.keys())
async def test_invalid_content_falls_back(
    stub: LlmStub, extractor: OpenAICompatibleExtractor, content: str | None
) -> None:
    stub.respond_with_content(content)
    result = await extractor.extract(TEXT, now=NOW)
    assert result.extractor == "rules" and result.items == ()
    assert result.fallback_reason is not None
    assert result.fallback_reason.startswith("invalid output")


@pytest.mark.parametrize("item", INVALID_ITEMS.values(), ids=INVALID_ITEMS.keys())
async def test_one_invalid_item_falls_back(
    stub: LlmStub, extractor: OpenAICompatibleExtractor, item: dict[str, Any]
) -> None:
    stub.respond_with_items([todo(title="valid"), item])
    result = await extractor.extract(TEXT, now=NOW)
    assert (result.extractor, result.fallback_reason) == ("rules", "invalid output")


@pytest.mark.parametrize(
    "body", ["<html>502 Bad Gateway</html>", '{"object": "chat.completion", "choices": []}']
)
async def test_malformed_envelope_falls_back(
    stub: LlmStub, extractor: OpenAICompatibleExtractor, body: str
) -> None:
    stub.respond_with_body(body)
    result = await extractor.extract(TEXT, now=NOW)
    assert (result.extractor, result.fallback_reason) == ("rules", "invalid response")


@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
async def test_error_status_falls_back_naming_it(
    stub: LlmStub, extractor: OpenAICompatibleExtractor, status: int
) -> None:
    stub.respond_with_status(status)
    result = await extractor.extract(TEXT, now=NOW)
    assert (result.extractor, result.fallback_reason) == ("rules", f"http {status}")


async def test_slow_server_falls_back_on_timeout_quickly(stub: LlmStub) -> None:
    llm = OpenAICompatibleExtractor(stub.base_url, API_KEY, MODEL, 0.3, RulesExtractor())
    stub.respond_with_items([todo()])
    stub.respond_slowly(10)
    started = time.perf_counter()
    try:
        result = await llm.extract(TEXT, now=NOW)
    finally:
        await llm.aclose()
    assert time.perf_counter() - started < 1.5
    assert (result.extractor, result.fallback_reason) == ("rules", "timeout")


async def test_unreachable_server_falls_back() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}/v1"
    llm = OpenAICompatibleExtractor(base_url, API_KEY, MODEL, 2.0, RulesExtractor())
    try:
        result = await llm.extract(TEXT, now=NOW)
    finally:
        await llm.aclose()
    assert (result.extractor, result.fallback_reason) == ("rules", "connection error")


async def test_oversized_response_falls_back(
    stub: LlmStub, extractor: OpenAICompatibleExtractor
) -> None:
    stub.respond_with_items([todo(description="x" * 2_000_000)])
    result = await extractor.extract(TEXT, now=NOW)
    assert (result.extractor, result.fallback_reason) == ("rules", "response too large")


async def test_oversized_input_is_not_sent(
    stub: LlmStub, extractor: OpenAICompatibleExtractor
) -> None:
    result = await extractor.extract("x" * (MAX_INPUT_CHARS + 1), now=NOW)
    assert (result.extractor, result.fallback_reason) == ("rules", "input too long")
    assert stub.requests == []


async def test_api_key_never_leaks(
    stub: LlmStub, caplog: pytest.LogCaptureFixture, extractor: OpenAICompatibleExtractor
) -> None:
    caplog.set_level(logging.DEBUG)
    outcomes = []
    for provoke in (
        lambda: stub.respond_with_status(401, message=f"bad key {API_KEY}"),
        lambda: stub.respond_with_status(429),
        lambda: stub.respond_with_content(f"not json {API_KEY}"),
        lambda: stub.respond_with_items([{"kind": "todo", "title": API_KEY, "extra": 1}]),
    ):
        provoke()
        outcomes.append(await extractor.extract(TEXT, now=NOW))

    assert all(outcome.fallback_reason for outcome in outcomes)
    assert API_KEY not in repr(outcomes)
    assert API_KEY not in repr(extractor)
    assert "falling back" in caplog.text  # the failures were logged, just not the key
    assert API_KEY not in caplog.text


async def test_an_injected_client_is_left_open(stub: LlmStub) -> None:
    async with httpx.AsyncClient() as client:
        llm = OpenAICompatibleExtractor(
            stub.base_url, API_KEY, MODEL, 2.0, RulesExtractor(), client
        )
        await llm.aclose()
        assert not client.is_closed
        assert (await llm.extract(TEXT, now=NOW)).extractor == "llm"
