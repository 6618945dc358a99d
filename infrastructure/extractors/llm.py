"""Extraction through an OpenAI-compatible chat-completions endpoint, falling back to rules.

The model's answer is untrusted: it is size-capped, parsed as JSON and validated strictly
against the item schema below (no unknown kinds, no extra keys, no coerced types). Any
failure -- timeout, connection error, a non-2xx status, a malformed envelope or content --
returns the fallback's extraction with a short `fallback_reason`, so the owner's message is
never lost to a flaky provider.

Text that is blank or carries an explicit prefix (`todo:`, `note:`, ...) goes straight to
the fallback, without a reason since nothing failed: the design routes prefixed text through
the rules, so the owner's explicit instruction is deterministic and costs no API call.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from domain.extraction import (
    DEFAULT_CHECK_IN_DAYS,
    MAX_CHECK_IN_DAYS,
    MAX_ITEMS,
    MAX_OPTIONS,
    ExtractedDecision,
    ExtractedItem,
    ExtractedNote,
    ExtractedTodo,
    ExtractedTrack,
    Extraction,
    Extractor,
    Priority,
    clip,
    collapse_whitespace,
    normalise_tags,
)
from domain.rules_extractor import explicit_prefix

MAX_INPUT_CHARS = 20_000
MAX_RESPONSE_BYTES = 1_000_000

_log = logging.getLogger(__name__)

_SYSTEM_PROMPT = """\
You turn one message from the owner of a personal task system into structured items.
Today is {today} ({weekday}); the owner's local time is {time} in {zone}. Resolve \
relative dates against that local date.
Answer with one JSON object and nothing else: {{"items": [...]}}, each item one of:
{{"kind": "todo", "title": str, "description": str|null, \
"priority": "low"|"normal"|"high"|"urgent", "due": "YYYY-MM-DD"|null, "tags": [str]}}
{{"kind": "note", "title": str, "content": str, "tags": [str]}}
{{"kind": "track", "title": str, "description": str|null, "check_in_every": days as an \
integer from 1 to 365}}
{{"kind": "decision", "title": str, "rationale": str|null, "options": [str]}}
Use no other keys. Keep titles short. Return at most {max_items} items.
If the message holds nothing to do, remember, track or decide, answer {{"items": []}}."""


class _ExtractionFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OpenAICompatibleExtractor:
    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model: str,
        timeout_s: float,
        fallback: Extractor,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/chat/completions"
        self._api_key = api_key
        self._model = model
        self._timeout_s = timeout_s
        self._fallback = fallback
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout_s)

    def __repr__(self) -> str:  # spelled out so the API key can never show up in one
        return f"OpenAICompatibleExtractor(url={self._url!r}, model={self._model!r})"

    async def extract(self, text: str, *, now: datetime) -> Extraction:
        """`now` is aware, in the owner's zone; the model answers dates, never times."""
        if not text.strip() or explicit_prefix(text) is not None:
            return await self._fallback.extract(text, now=now)
        try:
            items = await self._ask_model(text, now)
        except _ExtractionFailed as failure:
            reason = failure.reason
        except (TimeoutError, httpx.TimeoutException):
            reason = "timeout"
        except httpx.TransportError:
            reason = "connection error"
        except httpx.HTTPError:
            reason = "http error"
        except Exception as error:  # any other surprise must not cost the owner's message
            reason = f"unexpected {type(error).__name__}"
        else:
            return Extraction(items=items, extractor="llm", model=self._model)
        _log.warning("LLM extraction failed (%s); falling back to rules", reason)
        fallen_back = await self._fallback.extract(text, now=now)
        return replace(fallen_back, fallback_reason=reason)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _ask_model(self, text: str, now: datetime) -> tuple[ExtractedItem, ...]:
        if len(text) > MAX_INPUT_CHARS:
            raise _ExtractionFailed("input too long")
        # httpx's timeout applies per read; this bounds the whole exchange, trickle included.
        async with asyncio.timeout(self._timeout_s):
            body = await self._post(self._request_body(text, now))
        return _parse_items(_message_content(body))

    def _request_body(self, text: str, now: datetime) -> dict[str, object]:
        prompt = _SYSTEM_PROMPT.format(
            today=now.date().isoformat(),
            weekday=now.strftime("%A"),
            time=now.strftime("%H:%M"),
            zone=getattr(now.tzinfo, "key", None) or now.strftime("UTC%z"),
            max_items=MAX_ITEMS,
        )
        return {
            "model": self._model,
            "messages": [
                {"role": "system", "content": prompt},
                {"role": "user", "content": text},
            ],
            "temperature": 0,
            "response_format": {"type": "json_object"},
        }

    async def _post(self, payload: dict[str, object]) -> bytes:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        async with self._client.stream("POST", self._url, json=payload, headers=headers) as resp:
            if not resp.is_success:
                raise _ExtractionFailed(f"http {resp.status_code}")
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise _ExtractionFailed("response too large")
            return bytes(body)


class _Message(BaseModel):
    content: str | None = None


class _Choice(BaseModel):
    message: _Message


class _ChatCompletion(BaseModel):
    """Only what we read of the envelope; providers add fields freely, so extras pass."""

    choices: list[_Choice] = Field(min_length=1)


def _message_content(body: bytes) -> str:
    try:
        content = _ChatCompletion.model_validate_json(body).choices[0].message.content
    except ValidationError as error:
        raise _ExtractionFailed("invalid response") from error
    if content is None:
        raise _ExtractionFailed("invalid output")
    return content


_Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class _Todo(_Strict):
    kind: Literal["todo"]
    title: _Title
    description: str | None = None
    priority: Priority = "normal"
    due: date | None = None
    tags: list[str] = []

    def to_domain(self) -> ExtractedTodo:
        return ExtractedTodo(
            _title(self.title),
            _optional(self.description),
            self.priority,
            self.due,
            normalise_tags(self.tags),
        )


class _Note(_Strict):
    kind: Literal["note"]
    title: _Title
    content: str
    tags: list[str] = []

    def to_domain(self) -> ExtractedNote:
        return ExtractedNote(_title(self.title), self.content, normalise_tags(self.tags))


class _Track(_Strict):
    kind: Literal["track"]
    title: _Title
    description: str | None = None
    check_in_every: int = Field(DEFAULT_CHECK_IN_DAYS, ge=1, le=MAX_CHECK_IN_DAYS)

    def to_domain(self) -> ExtractedTrack:
        return ExtractedTrack(_title(self.title), _optional(self.description), self.check_in_every)


class _Decision(_Strict):
    kind: Literal["decision"]
    title: _Title
    rationale: str | None = None
    options: list[str] = []

    def to_domain(self) -> ExtractedDecision:
        options = dict.fromkeys(_title(option) for option in self.options if option.strip())
        return ExtractedDecision(
            _title(self.title), _optional(self.rationale), tuple(options)[:MAX_OPTIONS]
        )


class _Output(_Strict):
    items: list[Annotated[_Todo | _Note | _Track | _Decision, Field(discriminator="kind")]]


def _parse_items(content: str) -> tuple[ExtractedItem, ...]:
    try:
        json.loads(content)
    except ValueError as error:
        raise _ExtractionFailed("invalid output: not json") from error
    try:
        output = _Output.model_validate_json(content)
    except ValidationError as error:
        raise _ExtractionFailed("invalid output") from error
    return tuple(item.to_domain() for item in output.items[:MAX_ITEMS])


def _title(text: str) -> str:
    return clip(collapse_whitespace(text))


def _optional(text: str | None) -> str | None:
    """An empty or blank optional text means the same as none."""
    if text is None:
        return None
    return text.strip() or None
