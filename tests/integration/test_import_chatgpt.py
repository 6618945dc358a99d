"""`import-chatgpt` end to end: the CLI as a process on a migrated SQLite file, and the
import function in-process on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dependency_injector import providers

from app.cli.import_chatgpt import ImportStopped, import_file
from app.container import build_container, close_container
from bench.messages import write_chatgpt_export
from domain.errors import InvalidInput
from domain.events import RecordedEvent
from domain.extraction import Extraction
from domain.messages import MESSAGE_INGESTED
from domain.rules_extractor import RulesExtractor
from infrastructure.chatgpt.export import ChatGPTExportError, read_export
from infrastructure.chatgpt.reader import ExportReaderFailed, prepared_export
from tests.conftest import make_settings
from tests.e2e.service import cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "chatgpt"
EXPORT = FIXTURES / "conversations.json"
DERIVED_TYPES = {"todo.created", "note.recorded", "track.started", "decision.recorded"}
# The owner's messages in the fixture, in time order, with their original times.
EXPECTED = {
    "c-u1": datetime(2024, 5, 28, 12, 40, 0, tzinfo=UTC),  # null create_time: the chat's
    "c-u4": datetime(2024, 5, 28, 12, 40, 50, tzinfo=UTC),
    "a-u1": datetime(2024, 5, 29, 16, 26, 50, 500000, tzinfo=UTC),
    "a-u2": datetime(2024, 5, 29, 16, 28, 20, tzinfo=UTC),
    "a-u2b": datetime(2024, 5, 29, 16, 30, 0, tzinfo=UTC),
    "b-u1": datetime(2024, 5, 30, 20, 14, 10, 250000, tzinfo=UTC),
    "d-u1": datetime(2024, 6, 1, 0, 0, 1, tzinfo=UTC),
}


def migrated(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    result = cli(url, "migrate")
    assert result.returncode == 0, result.stderr
    return url


@pytest.fixture
def migrated_sqlite(tmp_path: Path) -> str:
    return migrated(tmp_path / "import.db")


@pytest.fixture(scope="module")
def refusing_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Shared by the bad-file cases: each must leave it as empty as it found it."""
    return migrated(tmp_path_factory.mktemp("refusals") / "import.db")


async def stored_events(url: str) -> list[RecordedEvent]:
    container = build_container(make_settings(url))
    try:
        return await container.event_log().page(limit=1000)
    finally:
        await close_container(container)


def summary_of(stdout: str) -> str:
    [line] = stdout.splitlines()
    return line


async def test_import_records_the_owners_messages_once(migrated_sqlite):
    first = cli(migrated_sqlite, "import-chatgpt", str(EXPORT), "--batch-size", "3")
    assert first.returncode == 0, first.stderr
    summary = summary_of(first.stdout)
    assert summary.startswith(
        "import-chatgpt: 4 conversations, 10 messages found, 7 recorded, 0 already present, "
        "3 skipped (2 empty, 1 not text), 0 truncated, 0 cleaned, 4 derived objects, "
    )
    assert summary.endswith(" messages/s")
    assert "import-chatgpt: 7/7 (100%)" in first.stderr  # progress, off a terminal

    events = await stored_events(migrated_sqlite)
    messages = [e for e in events if e.type == MESSAGE_INGESTED]
    assert [e.payload["source_id"] for e in messages] == list(EXPECTED)
    for event in messages:
        assert event.payload["source"] == "chatgpt" and event.payload["author"] == "owner"
        assert event.occurred_at == EXPECTED[event.payload["source_id"]]
        assert event.metadata["client"]["conversation_title"]
    plant = next(e for e in messages if e.payload["source_id"] == "b-u1")
    assert plant.payload["text"] == "What plant is this? 🌱 It grows on my balcony."
    derived = [e for e in events if e.type != MESSAGE_INGESTED]
    assert sorted(e.type for e in derived) == sorted(DERIVED_TYPES)

    second = cli(migrated_sqlite, "import-chatgpt", str(EXPORT))
    assert second.returncode == 0, second.stderr
    assert ", 0 recorded, 7 already present, " in summary_of(second.stdout)
    assert ", 0 derived objects, " in summary_of(second.stdout)
    assert len(await stored_events(migrated_sqlite)) == len(events)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("broken/not_json.json", "is not valid JSON: "),
        ("broken/dict_not_list.json", "expected a JSON list of conversations"),
        ("broken/no_mapping.json", "conversation #2 ('Missing its mapping') has no 'mapping'"),
        ("missing.json", "no such file"),
        (".", "is a directory"),
    ],
)
async def test_a_bad_file_exits_non_zero_and_stores_nothing(refusing_sqlite, name, expected):
    result = cli(refusing_sqlite, "import-chatgpt", str(FIXTURES / name))
    assert result.returncode == 1
    assert expected in result.stderr and "nothing was imported" in result.stderr
    assert result.stdout == ""
    assert await stored_events(refusing_sqlite) == []


@pytest.mark.parametrize("export", [EXPORT, FIXTURES / "missing.json"])
def test_an_unmigrated_database_is_refused_before_the_file_is_read(tmp_path, export):
    result = cli(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", "import-chatgpt", str(export))
    assert result.returncode == 3
    assert "not ready" in result.stderr and "make migrate ENV=dev" in result.stderr
    assert "no such file" not in result.stderr


def test_the_batch_size_is_checked(tmp_path):
    result = cli(
        f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        "import-chatgpt",
        str(EXPORT),
        "--batch-size",
        "0",
    )
    assert result.returncode == 2 and "between 1 and 1000" in result.stderr


async def test_batches_commit_and_a_rerun_adds_nothing(container):
    """In-process, on SQLite and PostgreSQL: three batches, each its own transaction."""
    summary = await import_file(container, EXPORT, batch_size=3)
    assert (summary.recorded, summary.already_present, summary.conflicts) == (7, 0, 0)
    events = await container.event_log().page(limit=1000)
    assert sum(e.type == MESSAGE_INGESTED for e in events) == 7
    assert len(events) == 7 + summary.derived
    assert (await container.event_log().verify()).intact

    again = await import_file(container, EXPORT, batch_size=500)
    assert (again.recorded, again.already_present, again.derived) == (0, 7, 0)
    assert len(await container.event_log().page(limit=1000)) == len(events)


async def test_a_renamed_conversation_is_already_present(container, tmp_path):
    await import_file(container, EXPORT)
    data = json.loads(EXPORT.read_text(encoding="utf-8"))
    data[0]["title"] = "Renamed in ChatGPT"
    renamed = tmp_path / "conversations.json"
    renamed.write_text(json.dumps(data), encoding="utf-8")
    summary = await import_file(container, renamed)
    assert (summary.recorded, summary.already_present, summary.conflicts) == (0, 7, 0)
    assert "conflicting" not in summary.line()


class _RefusingAfter:
    """The rules extractor until `limit` messages have been read, then a refusal: an
    import that stops while preparing a batch, with the one before it being written."""

    def __init__(self, limit: int) -> None:
        self._rules = RulesExtractor()
        self._left = limit

    async def extract(self, text: str, *, now: datetime) -> Extraction:
        self._left -= 1
        if self._left < 0:
            raise InvalidInput("the extractor gave up")
        return await self._rules.extract(text, now=now)


async def test_a_batch_that_fails_to_prepare_stops_the_import_after_the_one_being_written(
    container,
):
    """Batches of 2: the first two are prepared and the first written; the third fails
    while the second is being written. The second still commits; nothing after it."""
    container.rules_extractor.override(providers.Object(_RefusingAfter(4)))
    export = read_export(EXPORT)
    with pytest.raises(ImportStopped) as stopped:
        await import_file(container, EXPORT, batch_size=2)
    assert isinstance(stopped.value.__cause__, InvalidInput)
    assert str(stopped.value) == "stopped after 4 of 7 messages"
    events = await container.event_log().page(limit=1000)
    messages = [e.payload["source_id"] for e in events if e.type == MESSAGE_INGESTED]
    assert messages == [m.source_id for m in export.messages[:4]]
    assert (await container.event_log().verify()).intact


async def test_a_reader_that_dies_midway_is_reported_not_taken_for_the_end(tmp_path):
    """The worker killed (as by the kernel, out of memory) while batches remain: the
    batches stop with ExportReaderFailed naming its exit, rather than ending early."""
    path = tmp_path / "conversations.json"
    write_chatgpt_export(path, 10_000)  # ~7 MB of batches: more than the pipe holds
    async with prepared_export(path, batch_size=100, context={}) as export:
        assert export.count == 10_000
        batches = export.batches()
        assert len(await anext(batches)) == 100
        os.kill(export.worker_pid, signal.SIGKILL)
        with pytest.raises(ExportReaderFailed, match=r"exit status -9"):
            async for _ in batches:
                pass


async def test_the_reader_refuses_a_bad_file_before_any_batch(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text('[{"title": "no mapping"}]', encoding="utf-8")
    with pytest.raises(ChatGPTExportError, match="has no 'mapping' object"):
        async with prepared_export(path, batch_size=100, context={}):
            pytest.fail("a bad file gave an export")
