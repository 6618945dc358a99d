"""`make setup` creates each tier's secrets file for its owner alone (0600); staging and
live never start from an example's values, and the command says what to fill in."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT, read_dotenv


def make_env_file(root: Path, tier: str) -> subprocess.CompletedProcess[str]:
    """`make .env.<tier>` in a copy of what the rule needs, under a permissive umask."""
    shutil.copy(PROJECT_ROOT / "Makefile", root)
    shutil.copy(PROJECT_ROOT / f".env.{tier}.example", root)
    (root / "app").mkdir(exist_ok=True)
    for name in ("__init__.py", "env_file.py"):
        shutil.copy(PROJECT_ROOT / "app" / name, root / "app")
    return subprocess.run(
        ["make", "-s", f".env.{tier}", f"ENV={tier}", f"PYTHON={sys.executable}"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.umask(0o022),
    )


@pytest.mark.parametrize("tier", ["dev", "staging", "live"])
def test_a_new_env_file_is_private_with_a_fresh_token(tmp_path: Path, tier: str):
    make_env_file(tmp_path, tier)

    created = tmp_path / f".env.{tier}"
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    token = read_dotenv(created)["HELIONYX_API_TOKEN"]
    assert len(token) >= 40 and token != read_dotenv(tmp_path / f".env.{tier}.example").get(
        "HELIONYX_API_TOKEN"
    )


def test_dev_is_ready_to_run(tmp_path: Path):
    result = make_env_file(tmp_path, "dev")

    assert result.returncode == 0, result.stderr
    assert "created .env.dev" in result.stdout


@pytest.mark.parametrize("tier", ["staging", "live"])
def test_staging_and_live_keep_no_example_value_and_stop_saying_what_to_fill_in(
    tmp_path: Path, tier: str
):
    result = make_env_file(tmp_path, tier)

    assert result.returncode != 0
    said = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert len(said) == 1, result.stderr
    assert "fill in HELIONYX_DATABASE_URL" in said[0]
    assert "TELEGRAM_BOT_TOKEN" in said[0] and "TELEGRAM_MODE=off" in said[0]
    values = read_dotenv(tmp_path / f".env.{tier}")
    example = read_dotenv(tmp_path / f".env.{tier}.example")
    assert example["HELIONYX_DATABASE_URL"]  # the example does suggest one...
    assert values["HELIONYX_DATABASE_URL"] == ""  # ...which is not taken
    assert values["TELEGRAM_WEBHOOK_URL"] == ""
    assert len(values["TELEGRAM_WEBHOOK_SECRET"]) >= 40  # a fresh secret, made here


def test_an_existing_env_file_is_never_overwritten(tmp_path: Path):
    (tmp_path / ".env.staging").write_text("HELIONYX_API_TOKEN=mine-and-only-mine\n")

    result = make_env_file(tmp_path, "staging")

    assert result.returncode == 0
    assert (tmp_path / ".env.staging").read_text() == "HELIONYX_API_TOKEN=mine-and-only-mine\n"
