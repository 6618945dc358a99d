"""`make export`: where the file goes, that it is the owner's alone, and what make runs."""

from __future__ import annotations

import argparse
import shutil
import stat
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.cli.export import cmd_export
from app.config import PROJECT_ROOT
from app.container import Container, build_container, close_container
from app.settings import Settings
from domain.messages import IncomingMessage
from infrastructure.migrate import upgrade
from tests.conftest import make_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
async def tier(tmp_path: Path) -> AsyncIterator[tuple[Container, Settings]]:
    # The project root moved to tmp_path: the default path is var/exports/<tier>/ under it.
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'helionyx.db'}")
    settings = settings.model_copy(update={"root": tmp_path})
    container = build_container(settings)
    await upgrade(container.engine(), "dev")
    ingest = container.ingest_service()
    await ingest.ingest(IncomingMessage("todo: water the plants tomorrow #home"))
    await ingest.ingest(IncomingMessage("hello"))
    try:
        yield container, settings
    finally:
        await close_container(container)


async def export(tier, fmt: str = "jsonl", out: str | None = None) -> int:
    container, settings = tier
    return await cmd_export(container, settings, argparse.Namespace(format=fmt, out=out))


async def test_the_default_file_is_0600_in_a_0700_directory(tier, tmp_path: Path, capsys):
    assert await export(tier) == 0
    directory = tmp_path / "var" / "exports" / "dev"
    [written] = directory.iterdir()
    assert written.name.startswith("helionyx-dev-") and written.suffix == ".jsonl"
    assert (mode(written), mode(directory)) == (0o600, 0o700)
    said = capsys.readouterr().out
    assert said.startswith(f"export: 3 events to {written} (")
    assert f"check it: make verify FILE={written}" in said


async def test_markdown_and_a_chosen_file(tier, tmp_path: Path):
    out = tmp_path / "mine" / "objects.md"
    assert await export(tier, "markdown", str(out)) == 0
    assert mode(out) == 0o600
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Helionyx export") and "water the plants" in text
    assert [p.name for p in out.parent.iterdir()] == ["objects.md"]  # no partial file left


async def test_an_existing_file_is_not_overwritten(tier, tmp_path: Path, capsys):
    out = tmp_path / "export.jsonl"
    out.write_text("mine")
    assert await export(tier, out=str(out)) == 1
    assert out.read_text() == "mine"
    assert "exists already" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_what_make_runs():
    def dry_run(*args: str) -> str:
        run = subprocess.run(
            ["make", "-n", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30
        )
        return run.stdout

    assert '-m app.cli --env dev export --format "markdown" --out "x.md"' in dry_run(
        "export", "ENV=dev", "FORMAT=markdown", "OUT=x.md"
    )
    assert '-m app.cli --env live import-log "e.jsonl"' in dry_run(
        "import-log", "ENV=live", "FILE=e.jsonl"
    )
    assert '-m app.cli --env dev verify --file "e.jsonl"' in dry_run("verify", "FILE=e.jsonl")
