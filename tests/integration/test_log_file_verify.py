"""`make verify FILE=export.jsonl`: an export checked offline, the first bad line named.

Line 1 is the header; line n + 1 holds seq n."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.cli.verify import verify_file
from app.config import PROJECT_ROOT
from infrastructure.database import create_engine
from infrastructure.log_file.reading import LogFileReader
from infrastructure.migrate import upgrade
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.integration.log_file_support import export_to, write_scenario


@pytest.fixture
async def export(tmp_path: Path) -> AsyncIterator[Path]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'source.db'}")
    await upgrade(engine, "dev")
    clock = FakeClock()
    factory = SqlUnitOfWorkFactory(engine, clock)
    await write_scenario(factory, clock)
    try:
        yield await export_to(tmp_path / "export.jsonl", factory, clock)
    finally:
        await engine.dispose()


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def rewritten(path: Path, lines: list[bytes]) -> Path:
    bad = path.with_name("bad.jsonl")
    bad.write_bytes(b"".join(lines))
    return bad


def verdict(path: Path, capsys) -> tuple[int, str]:
    status = verify_file(path)
    captured = capsys.readouterr()
    assert captured.out.count("\n") + captured.err.count("\n") == 1  # one line, always
    return status, captured.out + captured.err


def test_an_intact_export_is_summed_up_in_one_line(export: Path, capsys):
    events = len(lines_of(export)) - 1
    status, said = verdict(export, capsys)
    head = json.loads(lines_of(export)[0])["head"]
    assert status == 0
    assert f"export intact: {export}: {events} events, head seq {events}" in said
    assert head["hash"] in said


def test_a_file_missing_lines_at_the_end(export: Path, capsys):
    lines = lines_of(export)
    status, said = verdict(rewritten(export, lines[:-2]), capsys)
    total = len(lines) - 1
    assert status == 1
    assert (
        f"line {len(lines) - 1}: missing: the file ends after seq {total - 2}, its "
        f"header says the log ends at seq {total} (truncated)"
    ) in said


def test_a_half_line_at_the_end(export: Path, capsys):
    data = export.read_bytes()
    status, said = verdict(rewritten(export, [data[:-40]]), capsys)
    assert status == 1
    assert f"line {len(lines_of(export))}: cut short: the file ends inside it" in said


def test_an_edited_payload(export: Path, capsys):
    lines = lines_of(export)
    [at] = [n for n, line in enumerate(lines) if b'"text":"todo: buy milk"' in line]
    lines[at] = lines[at].replace(b"buy milk", b"buy silk")
    status, said = verdict(rewritten(export, lines), capsys)
    assert status == 1
    assert f"line {at + 1}: seq {at}: content does not match its hash" in said


def test_an_edited_number(export: Path, capsys):
    lines = lines_of(export)
    [at] = [n for n, line in enumerate(lines) if b'"e16":1e+16' in line]
    lines[at] = lines[at].replace(b'"e16":1e+16', b'"e16":1.0000000000000002e+16')
    status, said = verdict(rewritten(export, lines), capsys)
    assert status == 1 and f"line {at + 1}: seq {at}: content does not match" in said


def test_a_number_spelled_otherwise_is_the_same_content(export: Path, capsys):
    # As `make verify` judges a row: its content hashes right, so the line is intact, and
    # what a store keeps for it is the sealed canonical text again.
    lines = lines_of(export)
    [at] = [n for n, line in enumerate(lines) if b'"e16":1e+16' in line]
    lines[at] = lines[at].replace(b'"e16":1e+16', b'"e16":10000000000000000.0')
    bad = rewritten(export, lines)
    assert verdict(bad, capsys)[0] == 0
    with bad.open("rb") as stream:
        kept = [s.payload_json for s in LogFileReader(stream).events()]
    with export.open("rb") as stream:
        assert kept == [s.payload_json for s in LogFileReader(stream).events()]


def test_a_line_removed_in_the_middle(export: Path, capsys):
    lines = lines_of(export)
    del lines[10]  # seq 10
    status, said = verdict(rewritten(export, lines), capsys)
    assert status == 1
    assert "line 11: seq 10 is missing" in said


def test_two_lines_swapped(export: Path, capsys):
    lines = lines_of(export)
    lines[5], lines[6] = lines[6], lines[5]
    status, said = verdict(rewritten(export, lines), capsys)
    assert status == 1 and said.startswith(f"verify: {export.with_name('bad.jsonl')} line 6:")


def test_a_line_that_is_not_json(export: Path, capsys):
    lines = lines_of(export)
    lines[4] = b"this is not JSON\n"
    status, said = verdict(rewritten(export, lines), capsys)
    assert status == 1 and "line 5: is not a JSON object" in said


def test_a_file_that_is_not_an_export(tmp_path: Path, capsys):
    chatgpt = PROJECT_ROOT / "tests" / "fixtures" / "chatgpt" / "conversations.json"
    status, said = verdict(chatgpt, capsys)
    assert status == 1 and "line 1: is not a helionyx-log header" in said
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert verdict(empty, capsys) == (
        1,
        f"verify: {empty} line 1: missing: the file is empty, not a helionyx-log export\n",
    )


def test_the_command_needs_no_database_nor_configuration(export: Path):
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HELIONYX_", "TELEGRAM_")) and k != "ENV"
    }
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "--env", "live", "verify", "--file", str(export)],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("export intact:") and run.stderr == ""
    lines = lines_of(export)
    bad = rewritten(export, lines[:-1])
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "verify", "--file", str(bad)],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "(truncated)" in run.stderr
