"""`make setup` creates each tier's secrets file for its owner alone (0600)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT


@pytest.mark.parametrize("tier", ["dev", "staging", "live"])
def test_a_new_env_file_is_private(tmp_path: Path, tier: str):
    shutil.copy(PROJECT_ROOT / "Makefile", tmp_path)
    shutil.copy(PROJECT_ROOT / f".env.{tier}.example", tmp_path)
    result = subprocess.run(["make", "-s", f".env.{tier}", f"ENV={tier}"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60,
                            preexec_fn=lambda: os.umask(0o022))
    assert result.returncode == 0, result.stderr
    created = tmp_path / f".env.{tier}"
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    assert "HELIONYX_API_TOKEN=" in created.read_text()
