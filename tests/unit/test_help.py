"""/help lists every command with an example that works, and the README's table agrees."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domain.conversation import ConversationService, parse
from domain.ingest import IngestService
from domain.replies import COMMANDS, HELP, unknown_command
from domain.rules_extractor import RulesExtractor
from tests.fakes import InMemoryUnitOfWorkFactory

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_rows() -> list[tuple[str, str, str]]:
    section = README.read_text().split("## The conversation", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 3 and cells[0].startswith("`/"):
            rows.append(tuple(c.strip("`").replace("\\|", "|") for c in cells))
    return rows


def test_the_readme_table_lists_what_help_lists():
    listed = [row for row in readme_rows() if row[0] != "/start"]
    assert listed == list(COMMANDS)


def test_help_shows_every_command_with_its_example():
    for usage, example, _ in COMMANDS:
        assert f"{usage} - " in HELP and f"e.g. {example}" in HELP


@pytest.mark.parametrize(("usage", "example"), [(u, e) for u, e, _ in COMMANDS])
async def test_every_example_is_a_command_the_conversation_knows(usage, example):
    factory = InMemoryUnitOfWorkFactory()
    ingest = IngestService(factory, RulesExtractor(), factory.clock)
    conversation = ConversationService(factory, ingest, factory.clock)
    reply = (await conversation.handle(example, channel="http")).reply
    assert reply != unknown_command(parse(example).name or "")
    assert not reply.startswith("Usage:"), reply
