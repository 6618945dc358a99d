"""Commands that read (config, status) leave the disk as they found it: no `.env.<tier>`,
no data directory, no database file; and status says the bot's mode as config does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import API_TOKEN

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abc"


def cli(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HELIONYX_", "TELEGRAM_")) and key != "ENV"
    }
    environ.update(
        PYTHONPATH=str(PROJECT_ROOT),
        HELIONYX_API_TOKEN=API_TOKEN,
        HELIONYX_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/data/helionyx.db",
        HELIONYX_DIGEST_DIR=str(tmp_path / "digests"),
        HELIONYX_PORT="1",
        **extra,
    )
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--env", "dev", *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", ["config", "status"])
def test_a_reading_command_creates_nothing(tmp_path: Path, command: str):
    cli(tmp_path, command)

    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["config", "status", "verify", "stop"])
def test_make_creates_no_env_file_to_read_the_configuration(target: str):
    plan = subprocess.run(
        ["make", "-n", target, "ENV=live"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "app.env_file" not in plan.stdout, plan.stdout


def test_status_and_config_name_the_same_bot_mode(tmp_path: Path):
    bot = {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_OWNER_CHAT_ID": "7"}

    config = json.loads(cli(tmp_path, "config", **bot).stdout)
    status = cli(tmp_path, "status", **bot).stdout

    assert config["telegram"]["mode"] == "polling"
    assert "│ telegram │ polling (configured" in status
