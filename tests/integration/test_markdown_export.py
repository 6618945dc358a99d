"""The Markdown export: every object under its status, tracks with their check-ins,
decisions with their history, times in the owner's zone; page by page, the same file."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.decisions import review_decision
from domain.todos import create_todo
from infrastructure.database import create_engine
from infrastructure.log_file import markdown as markdown_module
from infrastructure.log_file.markdown import markdown_export, write_markdown
from infrastructure.migrate import upgrade
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.integration.log_file_support import write_scenario

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade(engine, "dev")
    try:
        yield engine
    finally:
        await engine.dispose()


async def markdown(factory: SqlUnitOfWorkFactory, clock: FakeClock, **options) -> str:
    chunks = [chunk async for chunk in markdown_export(factory, clock, **options)]
    return b"".join(chunks).decode("utf-8")


async def test_every_object_and_its_history(engine, monkeypatch):
    clock = FakeClock()
    factory = SqlUnitOfWorkFactory(engine, clock)
    await write_scenario(factory, clock)
    async with factory(write=True) as uow:
        await create_todo(
            uow,
            title="dentist",
            due=datetime(2027, 1, 5, 9, 30, tzinfo=BERLIN),
            priority="urgent",
            tags=["health"],
        )
        await review_decision(uow, 3, outcome="worked well")
        await uow.commit()

    text = await markdown(factory, clock, zone=BERLIN)
    assert "Times are in Europe/Berlin." in text
    assert (
        "## Todos\n\n### Open (3)\n\n- [ ] #2 file taxes · due 2027-04-15\n  before April\n"
    ) in text
    assert "- [ ] #4 dentist · due 2027-01-05 09:30 · priority urgent · #health" in text
    assert "### Done (1)\n\n- [x] #1 buy milk · due 2026-12-01 · priority high · #shop #ünï" in text
    assert "### Active (3)\n\n#### #1 wifi\n" in text and "> 50% of the_password" in text
    assert "#### #1 running (active)" in text
    assert "check-in: 5 km" in text and "paused" in text and "resumed" in text
    assert "#### #2 guitar (done)" in text and "finished" in text
    assert "#### #1 Use SQLite (superseded by #3)" in text
    assert "superseded by #3" in text.split("#### #1 Use SQLite")[1]
    assert "#### #3 Use PostgreSQL (active)" in text and "supersedes #1" in text
    assert "- Outcome: worked well" in text and "outcome: worked well" in text
    assert "#### #2 No meetings on Friday (revoked)" in text
    assert "- Revoked: too strict" in text and "revoked: too strict" in text

    # A page at a time, however small: the same file.
    assert await markdown(factory, clock, zone=BERLIN, page_size=1) == text
    monkeypatch.setattr(markdown_module, "LINES_PER_PAGE", 1)  # a page ends after an object
    assert await markdown(factory, clock, zone=BERLIN) == text
    stream = io.BytesIO()
    assert await write_markdown(factory, clock, stream, zone=BERLIN) == len(text.encode())
    assert stream.getvalue().decode() == text


async def test_an_empty_database_says_so(engine):
    clock = FakeClock()
    text = await markdown(SqlUnitOfWorkFactory(engine, clock), clock)
    assert text.startswith("# Helionyx export\n")
    assert "at seq 0 (0 events)" in text
    assert text.rstrip().endswith("Nothing recorded yet: no todos, notes, tracks or decisions.")
