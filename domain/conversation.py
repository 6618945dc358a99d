"""The conversation: one owner message in, one short reply out, for Telegram and HTTP alike.

Every message is recorded as a `message.ingested` event with the owner's exact words, the
commands included; what a message changes is recorded in the same transaction and points
back at it with `metadata.caused_by_seq`. `/todo buy milk` is read as "todo: buy milk" by
the rules extractor (so `!high`, `#tag` and due dates work there too); free text goes
through the configured extractor, the LLM when there is one. Dates and times are read in
the owner's time zone. `external_id` makes a message idempotent: a redelivery records
nothing and gets the first reply again (rebuilt from the recorded events) or, for a
query, a fresh answer.

A change the owner asks for (`/done 3`, `/edit 3 ...`, `/undo`) that the lifecycle
forbids or that names nothing is refused in one sentence; the message is recorded and
nothing else is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from domain import decisions, notes, todos, tracks
from domain.agenda import agenda_reply, read_agenda
from domain.derivation import CAUSED_BY_SEQ, FollowUp, deriving
from domain.errors import (
    Conflict,
    DomainError,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    StorageUnavailable,
)
from domain.events import RecordedEvent
from domain.extraction import ExtractedDecision, ExtractedNote, Extraction
from domain.ingest import IngestResult, IngestService
from domain.messages import IncomingMessage, unstorable
from domain.objects import DECISION_STATUSES, TODO_STATUSES, TRACK_CHECKED_IN
from domain.ports import Clock, UnitOfWorkFactory
from domain.replies import (
    ALREADY_RECORDED,
    EMPTY,
    GREETING,
    HELP,
    USAGE,
    day,
    decision_list,
    next_check_in,
    note_list,
    recorded,
    sentence,
    stats_text,
    todo_list,
    track_list,
    unknown_command,
)
from domain.repositories import ObjectUnitOfWork
from domain.rules_extractor import extract_item
from domain.search import search, search_reply
from domain.stats import read_stats
from domain.todo_edits import read_todo_edit
from domain.todo_filter import TodoFilter
from domain.undo import undo_last

# The rules' own prefix for each creating command ("/decide x" reads as "decide: x").
CREATING = ("todo", "note", "track", "decide")
LIST_LIMIT = 200
SEARCH_LIMIT = 30
MAX_NUMBER = 2**31 - 1  # numbers are 32-bit integers in the read models

Action = Callable[[ObjectUnitOfWork, RecordedEvent, dict[str, Any]], Awaitable[list[RecordedEvent]]]
"""A change a command asks for, run in the message's transaction: given the recorded
message and the metadata its events carry; raises NotFound, Conflict or InvalidInput
before appending anything when it cannot be done."""


@dataclass(frozen=True)
class Document:
    """A file to send with the reply (the chat's `/export`)."""

    filename: str
    content: bytes
    media_type: str


@dataclass(frozen=True)
class ConversationReply:
    reply: str
    events: list[RecordedEvent] = field(default_factory=list)
    replayed: bool = False
    document: Document | None = None


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
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        ingest: IngestService,
        clock: Clock,
        zone: tzinfo = UTC,
        reminders: Callable[[datetime], Awaitable[str]] | None = None,
        export: Callable[[], Awaitable[bytes]] | None = None,
    ) -> None:
        """`zone`: the owner's; `reminders`: what /reminders answers, given the time;
        `export`: the Markdown export /export sends."""
        self._uow_factory = uow_factory
        self._ingest = ingest
        self._clock = clock
        self._zone = zone
        self._reminders = reminders
        self._export = export

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
        document = None
        try:
            if command.name == "export":
                reply, document = await self._exported()
            else:
                reply = await plan.reply(result)
        except StorageUnavailable:
            raise
        except DomainError as e:
            reply = sentence(str(e))
        return ConversationReply(reply, [result.event, *result.derived], result.replayed, document)

    def _now(self) -> datetime:
        """Now in the owner's zone: what "today" and "9am" mean."""
        return self._clock.now().astimezone(self._zone)

    def _plan(self, command: Command) -> _Plan:
        name, argument = command.name, command.argument
        if name is None:
            return _Plan(None, self._describe)
        if name in CREATING:
            return self._creating(name, argument)
        changes: dict[str, Callable[[str], Action | str]] = {
            "done": lambda a: _by_number(a, "todo", todos.complete_todo),
            "cancel": lambda a: _by_number(a, "todo", todos.cancel_todo),
            "reopen": lambda a: _by_number(a, "todo", todos.reopen_todo),
            "archive": lambda a: _by_number(a, "note", notes.archive_note),
            "pause": lambda a: _by_number(a, "track", tracks.pause_track),
            "resume": lambda a: _by_number(a, "track", tracks.resume_track),
            "finish": lambda a: _by_number(a, "track", tracks.finish_track),
            "edit": self._edit,
            "checkin": lambda a: _check_in(a, self._zone),
            "supersede": self._supersede,
            "revoke": _revoke,
            "outcome": _outcome,
            "undo": self._undo,
        }
        if name in changes:
            action = changes[name](argument)
            if isinstance(action, str):
                return _Plan(_nothing, lambda _: _constant(action))
            return self._changing(name, action)
        queries: dict[str, Callable[[str], Awaitable[str]]] = {
            "todos": self._todos,
            "notes": self._notes,
            "tracks": self._tracks,
            "decisions": self._decisions,
            "stats": self._stats,
            "reminders": self._reminders_text,
            "search": self._search,
            "today": lambda _: self._agenda(1),
            "week": lambda _: self._agenda(7),
        }
        if name in queries:
            query = queries[name]
            return _Plan(_nothing, lambda _: query(argument))
        if name == "export":
            return _Plan(_nothing, lambda _: _constant(""))  # answered in handle()
        if name in ("start", "help"):
            text = GREETING if name == "start" else HELP
        else:
            text = unknown_command(name)
        return _Plan(_nothing, lambda _: _constant(text))

    def _creating(self, name: str, argument: str) -> _Plan:
        item = extract_item(f"{name}: {argument}", now=self._now())
        if item is None:
            return _Plan(_nothing, lambda _: _constant(USAGE[name]))
        refusals: list[str] = []
        extraction = Extraction(items=(item,), extractor="rules")
        return _Plan(
            deriving(extraction, refusals),
            lambda result: self._refused_or_described(result, refusals),
        )

    def _changing(self, name: str, action: Action) -> _Plan:
        refusals: list[str] = []

        async def follow_up(uow: ObjectUnitOfWork, message: RecordedEvent) -> list[RecordedEvent]:
            metadata = {CAUSED_BY_SEQ: message.seq, "command": name}
            try:
                return await action(uow, message, metadata)
            except (NotFound, Conflict, InvalidInput) as e:  # raised before appending
                refusals.append(str(e))
                return []

        return _Plan(follow_up, lambda result: self._refused_or_described(result, refusals))

    async def _refused_or_described(self, result: IngestResult, refusals: list[str]) -> str:
        if refusals and not result.derived:
            return sentence(refusals[0])
        return await self._describe(result)

    async def _describe(self, result: IngestResult) -> str:
        if result.replayed and not result.derived and parse(result.event.payload["text"]).name:
            return ALREADY_RECORDED
        titles: dict[str, str] = {}
        checked_in = []
        untitled = [e for e in result.derived if "title" not in e.payload]
        async with self._uow_factory() as uow:
            for event in untitled:  # events recorded before they carried the title
                models = getattr(uow, f"{event.aggregate_type}s", None)
                if models is not None and (found := await models.get(event.aggregate_id)):
                    titles[event.aggregate_id] = found.title
            for event in result.derived:
                if event.type == TRACK_CHECKED_IN:
                    checked_in.append(await uow.tracks.get(event.aggregate_id))
        reply = recorded(result.derived, titles)
        for track in filter(None, checked_in):
            reply += (
                f"\n{track.streak} in a row; next check-in {day(next_check_in(track, self._zone))}."
            )
        return reply

    # Changes ---------------------------------------------------------------------------

    def _edit(self, argument: str) -> Action | str:
        words = argument.split(maxsplit=1)
        if words and words[0].lower() == "note":
            return self._edit_note(words[1] if len(words) > 1 else "")
        number, text = _number_and_rest(argument)
        if number is None or not text:
            return USAGE["edit"]
        now = self._now()

        async def action(
            uow: Any, message: RecordedEvent, metadata: dict[str, Any]
        ) -> list[RecordedEvent]:
            stated = read_todo_edit(text, now=now)
            if stated.unread_dates:
                raise InvalidInput(
                    f"I could not read “{stated.unread_dates[0]}” as a date; nothing changed"
                )
            if not stated.changes:
                raise InvalidInput(
                    "I found nothing to change in that: give a new title, a "
                    "date or time, a !priority or #tags"
                )
            _, events = await todos.edit_todo(
                uow, _checked(number, "todo"), **stated.changes, metadata=metadata
            )
            if not events:
                raise Conflict(f"todo {number} already reads so; nothing changed")
            return events

        return action

    def _edit_note(self, argument: str) -> Action | str:
        number, text = _number_and_rest(argument)
        item = extract_item(f"note: {text}", now=self._now()) if text else None
        if number is None or not isinstance(item, ExtractedNote):
            return USAGE["edit"]

        async def action(
            uow: Any, message: RecordedEvent, metadata: dict[str, Any]
        ) -> list[RecordedEvent]:
            changes: dict[str, Any] = {"title": item.title, "content": item.content}
            if item.tags:
                changes["tags"] = item.tags
            _, events = await notes.edit_note(
                uow, _checked(number, "note"), **changes, metadata=metadata
            )
            if not events:
                raise Conflict(f"note {number} already reads so; nothing changed")
            return events

        return action

    def _supersede(self, argument: str) -> Action | str:
        number, text = _number_and_rest(argument)
        item = extract_item(f"decide: {text}", now=self._now()) if text else None
        if number is None or not isinstance(item, ExtractedDecision):
            return USAGE["supersede"]

        async def action(
            uow: Any, message: RecordedEvent, metadata: dict[str, Any]
        ) -> list[RecordedEvent]:
            _, events = await decisions.supersede_decision(
                uow,
                _checked(number, "decision"),
                title=item.title,
                rationale=item.rationale,
                options=item.options,
                review_on=item.review_on,
                source_event_seq=message.seq,
                metadata=metadata,
            )
            return events

        return action

    def _undo(self, argument: str) -> Action | str:
        now = self._clock.now()

        async def action(
            uow: Any, message: RecordedEvent, metadata: dict[str, Any]
        ) -> list[RecordedEvent]:
            return await undo_last(uow, now, message)

        return action

    # Queries ---------------------------------------------------------------------------

    async def _todos(self, argument: str) -> str:
        """`/todos [open|done|cancelled|all] [#tag] [due]`: `due` lists soonest first."""
        status, tag, sort = "open", None, "number"
        for word in argument.lower().split():
            if word in (*TODO_STATUSES, "all"):
                status = word
            elif word.startswith("#") and len(word) > 1:
                tag = word
            elif word in ("due", "by-due"):
                sort = "due"
            else:
                return USAGE["todos"]
        wanted = TodoFilter.asked(status, tag, sort=sort)
        async with self._uow_factory() as uow:
            page = await todos.page_todos(uow, wanted, limit=LIST_LIMIT)
        label = status if wanted.tag is None else f"{status} #{wanted.tag}"
        return todo_list(page.items, label, page.total, self._now(), every=status == "all")

    async def _notes(self, argument: str) -> str:
        search = argument or None
        async with self._uow_factory() as uow:
            page = await notes.page_notes(uow, search, limit=LIST_LIMIT)
        return note_list(page.items, search, page.total)

    async def _tracks(self, argument: str) -> str:
        async with self._uow_factory() as uow:
            page = await tracks.page_tracks(uow, limit=LIST_LIMIT)
        return track_list(page.items, page.total, self._now())

    async def _decisions(self, argument: str) -> str:
        status = argument.lower() or "active"
        if status not in (*DECISION_STATUSES, "all"):
            return USAGE["decisions"]
        async with self._uow_factory() as uow:
            page = await decisions.page_decisions(uow, status, limit=LIST_LIMIT)
            numbers = {}
            for d in page.items:
                if d.superseded_by and (by := await uow.decisions.get(d.superseded_by)):
                    numbers[d.superseded_by] = by.number
        return decision_list(page.items, status, page.total, numbers)

    async def _exported(self) -> tuple[str, Document | None]:
        if self._export is None:
            return "Export is not available here; use make export.", None
        content = await self._export()
        name = f"helionyx-{self._now().date().isoformat()}.md"
        return (
            f"Your todos, notes, tracks and decisions: {name} ({len(content):,} bytes). "
            "The whole log, every event: GET /api/v1/export?format=jsonl.",
            Document(name, content, "text/markdown; charset=utf-8"),
        )

    async def _search(self, argument: str) -> str:
        async with self._uow_factory() as uow:
            page = await search(uow, argument, limit=SEARCH_LIMIT)
        return search_reply(page, argument)

    async def _agenda(self, days: int) -> str:
        now = self._now()
        async with self._uow_factory() as uow:
            agenda = await read_agenda(uow, now, days)
        return agenda_reply(agenda, now)

    async def _stats(self, argument: str) -> str:
        async with self._uow_factory() as uow:
            return stats_text(await read_stats(uow))

    async def _reminders_text(self, argument: str) -> str:
        if self._reminders is None:
            return "Reminders are off: the bot is not connected to Telegram."
        return await self._reminders(self._clock.now())


def _number_and_rest(argument: str) -> tuple[int | None, str]:
    """`3 rest` or `#3 rest` as (3, "rest"); (None, ...) when it does not open with one."""
    words = argument.split(maxsplit=1)
    if not words:
        return None, ""
    head = words[0].removeprefix("#")
    if not (head.isascii() and head.isdigit()):
        return None, argument
    return int(head), words[1].strip() if len(words) > 1 else ""


def _checked(number: int, kind: str) -> int:
    if number > MAX_NUMBER:
        raise NotFound(f"there is no {kind} {number}")
    return number


def _by_number(
    argument: str, kind: str, change: Callable[..., Awaitable[tuple[Any, list[RecordedEvent]]]]
) -> Action | str:
    """A change that takes only the object's number (`/done 3`)."""
    number, rest = _number_and_rest(argument)
    if number is None or rest:
        return USAGE[_COMMAND_OF[change.__name__]]

    async def action(
        uow: ObjectUnitOfWork, message: RecordedEvent, metadata: dict[str, Any]
    ) -> list[RecordedEvent]:
        _, events = await change(uow, _checked(number, kind), metadata=metadata)
        return events

    return action


_COMMAND_OF = {
    "complete_todo": "done",
    "cancel_todo": "cancel",
    "reopen_todo": "reopen",
    "archive_note": "archive",
    "pause_track": "pause",
    "resume_track": "resume",
    "finish_track": "finish",
}


def _check_in(argument: str, zone: tzinfo) -> Action | str:
    if not argument:
        return USAGE["checkin"]
    number, note = _number_and_rest(argument)

    async def action(
        uow: Any, message: RecordedEvent, metadata: dict[str, Any]
    ) -> list[RecordedEvent]:
        if number is not None:
            ref: int | str = _checked(number, "track")
            rest = note
        else:
            track = await tracks.find_active_by_name(uow, argument)
            if track is None:
                raise NotFound(f"there is no track named {argument.split()[0]!r}; see /tracks")
            ref = track.id
            rest = " ".join(argument.split())[len(" ".join(track.title.split())) :].strip()
        _, events = await tracks.check_in_track(
            uow, ref, note=rest or None, zone=zone, metadata=metadata
        )
        return events

    return action


def _revoke(argument: str) -> Action | str:
    number, reason = _number_and_rest(argument)
    if number is None:
        return USAGE["revoke"]
    reason = reason.removeprefix("because ").strip()

    async def action(
        uow: Any, message: RecordedEvent, metadata: dict[str, Any]
    ) -> list[RecordedEvent]:
        _, events = await decisions.revoke_decision(
            uow, _checked(number, "decision"), reason=reason or None, metadata=metadata
        )
        return events

    return action


def _outcome(argument: str) -> Action | str:
    number, text = _number_and_rest(argument)
    if number is None or not text:
        return USAGE["outcome"]

    async def action(
        uow: Any, message: RecordedEvent, metadata: dict[str, Any]
    ) -> list[RecordedEvent]:
        _, events = await decisions.review_decision(
            uow, _checked(number, "decision"), outcome=text, metadata=metadata
        )
        return events

    return action


async def _nothing(uow: Any, message: RecordedEvent) -> list[RecordedEvent]:
    return []


async def _constant(text: str) -> str:
    return text
