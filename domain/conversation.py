"""The conversation: one owner message in, one short reply out, for Telegram and HTTP alike.

Every message is recorded as a `message.ingested` event with the owner's exact words, the
commands included; what a message changes is recorded in the same transaction and points
back at it with `metadata.caused_by_seq`. `/todo buy milk` is read as "todo: buy milk" by
the rules extractor (so `!high`, `#tag` and due dates work there too); free text goes
through the configured extractor, the LLM when there is one. `external_id` makes a message
idempotent: a redelivery records nothing and gets the first reply again (rebuilt from the
recorded events) or, for a query, a fresh answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from domain.derivation import CAUSED_BY_SEQ, FollowUp, deriving
from domain.errors import Conflict, DomainError, IdempotencyConflict, NotFound, StorageUnavailable
from domain.events import RecordedEvent
from domain.extraction import Extraction
from domain.ingest import IngestResult, IngestService
from domain.messages import IncomingMessage, unstorable
from domain.objects import TODO_COMPLETED, TODO_STATUSES
from domain.ports import Clock, UnitOfWorkFactory
from domain.replies import (
    ALREADY_RECORDED,
    EMPTY,
    GREETING,
    HELP,
    USAGE,
    decision_list,
    note_list,
    recorded,
    sentence,
    stats_text,
    todo_list,
    track_list,
    unknown_command,
)
from domain.rules_extractor import extract_item
from domain.stats import read_stats
from domain.todos import complete_todo

# The rules' own prefix for each creating command ("/decide x" reads as "decide: x").
CREATING = ("todo", "note", "track", "decide")
LIST_LIMIT = 200
MAX_NUMBER = 2**31 - 1  # numbers are 32-bit integers in the read models


@dataclass(frozen=True)
class ConversationReply:
    reply: str
    events: list[RecordedEvent] = field(default_factory=list)
    replayed: bool = False


@dataclass(frozen=True)
class Command:
    """A slash command (`name` without the slash or a @bot suffix), or free text (None)."""

    name: str | None
    argument: str


def parse(text: str) -> Command:
    stripped = text.strip()
    if not stripped.startswith("/"):
        return Command(None, stripped)
    head = stripped.split(maxsplit=1)[0]
    name = head[1:].split("@", 1)[0].lower()
    return Command(name, stripped[len(head) :].strip())


@dataclass(frozen=True)
class _Plan:
    """What a command records besides the message (None: what the extractor finds in the
    text), and how its reply is made once that is committed."""

    follow_up: FollowUp | None
    reply: Callable[[IngestResult], Awaitable[str]]


class ConversationService:
    def __init__(self, uow_factory: UnitOfWorkFactory, ingest: IngestService, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._ingest = ingest
        self._clock = clock

    async def handle(
        self,
        text: str,
        *,
        channel: str,
        chat_id: str | None = None,
        external_id: str | None = None,
    ) -> ConversationReply:
        if not text.strip():
            return ConversationReply(EMPTY)
        if (why := unstorable(text)) is not None:
            return ConversationReply(f"Nothing was recorded: {why}.")
        command = parse(text)
        plan = self._plan(command)
        message = IncomingMessage(
            text=text, source=channel, source_id=external_id, conversation_id=chat_id
        )
        context = {"channel": channel}
        if command.name is not None:
            context["command"] = command.name[:64]
        try:
            result = await self._ingest.ingest(message, context=context, follow_up=plan.follow_up)
        except IdempotencyConflict:
            return ConversationReply(
                "This message id was already used for a different message; nothing was recorded."
            )
        except StorageUnavailable:
            raise  # not the owner's mistake: the adapter must not confirm the message
        except DomainError as e:
            return ConversationReply(sentence(str(e)))
        try:
            reply = await plan.reply(result)
        except StorageUnavailable:
            raise
        except DomainError as e:
            reply = sentence(str(e))
        return ConversationReply(reply, [result.event, *result.derived], result.replayed)

    def _plan(self, command: Command) -> _Plan:
        if command.name is None:
            return _Plan(None, self._describe)
        if command.name in CREATING:
            return self._creating(command)
        if command.name == "done":
            return self._done(command.argument)
        queries: dict[str, Callable[[str], Awaitable[str]]] = {
            "todos": self._todos,
            "notes": self._notes,
            "tracks": self._tracks,
            "decisions": self._decisions,
            "stats": self._stats,
        }
        if command.name in queries:
            query = queries[command.name]
            return _Plan(_nothing, lambda _: query(command.argument))
        if command.name in ("start", "help"):
            text = GREETING if command.name == "start" else HELP
        else:
            text = unknown_command(command.name)
        return _Plan(_nothing, lambda _: _constant(text))

    def _creating(self, command: Command) -> _Plan:
        today = self._clock.now().date()
        item = extract_item(f"{command.name}: {command.argument}", today=today)
        if item is None:
            return _Plan(_nothing, lambda _: _constant(USAGE[command.name or ""]))
        return _Plan(deriving(Extraction(items=(item,), extractor="rules")), self._describe)

    def _done(self, argument: str) -> _Plan:
        number = argument.removeprefix("#").strip()
        if not (number.isascii() and number.isdigit()):
            return _Plan(_nothing, lambda _: _constant(USAGE["done"]))
        errors: list[str] = []
        return _Plan(
            _completing(int(number), errors), lambda result: self._after_done(result, errors)
        )

    async def _after_done(self, result: IngestResult, errors: list[str]) -> str:
        if errors:
            return sentence(errors[0])
        return await self._describe(result)

    async def _describe(self, result: IngestResult) -> str:
        if result.replayed and not result.derived and parse(result.event.payload["text"]).name:
            return ALREADY_RECORDED
        titles: dict[str, str] = {}
        completed = [e.aggregate_id for e in result.derived if e.type == TODO_COMPLETED]
        if completed:
            async with self._uow_factory() as uow:
                for todo_id in completed:
                    if (todo := await uow.todos.get(todo_id)) is not None:
                        titles[todo_id] = todo.title
        return recorded(result.derived, titles)

    async def _todos(self, argument: str) -> str:
        status = argument.lower() or "open"
        if status not in (*TODO_STATUSES, "all"):
            return USAGE["todos"]
        async with self._uow_factory() as uow:
            counts = await uow.todos.count_by_status()
            todos = await uow.todos.list(None if status == "all" else status, LIST_LIMIT)
        total = sum(counts.values()) if status == "all" else counts[status]
        return todo_list(todos, status, total, self._clock.now().date())

    async def _notes(self, argument: str) -> str:
        search = argument or None
        async with self._uow_factory() as uow:
            if search is None:
                return note_list(
                    await uow.notes.list(None, LIST_LIMIT), None, await uow.notes.count()
                )
            notes = await uow.notes.list(search, 1000)
        return note_list(notes, search, len(notes))

    async def _tracks(self, argument: str) -> str:
        async with self._uow_factory() as uow:
            counts = await uow.tracks.count_by_status()
            tracks = await uow.tracks.list(None, LIST_LIMIT)
        return track_list(tracks, sum(counts.values()))

    async def _decisions(self, argument: str) -> str:
        async with self._uow_factory() as uow:
            counts = await uow.decisions.count_by_status()
            decisions = await uow.decisions.list("active", LIST_LIMIT)
        return decision_list(decisions, counts["active"])

    async def _stats(self, argument: str) -> str:
        async with self._uow_factory() as uow:
            return stats_text(await read_stats(uow))


def _completing(number: int, errors: list[str]) -> FollowUp:
    async def follow_up(uow: Any, message: RecordedEvent) -> list[RecordedEvent]:
        if number > MAX_NUMBER:
            errors.append(f"there is no todo {number}")
            return []
        metadata = {CAUSED_BY_SEQ: message.seq, "command": "done"}
        try:
            _, events = await complete_todo(uow, number, metadata=metadata)
        except (NotFound, Conflict) as e:  # raised before anything is appended
            errors.append(str(e))
            return []
        return events

    return follow_up


async def _nothing(uow: Any, message: RecordedEvent) -> list[RecordedEvent]:
    return []


async def _constant(text: str) -> str:
    return text
