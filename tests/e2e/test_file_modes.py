"""What the service and its commands create is the owner's alone (0600 files, 0700
directories), and live refuses to start on a data directory others can read."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT
from tests.e2e.service import Service, cli, service_environ

pytestmark = pytest.mark.e2e


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_its_wal_digests_run_file_and_backups_are_private(tmp_path: Path):
    data = tmp_path / "data"
    url = f"sqlite+aiosqlite:///{data / 'helionyx.db'}"
    digests = tmp_path / "digests"
    assert cli(url, "migrate", HELIONYX_DIGEST_DIR=str(digests)).returncode == 0
    service = Service(url, tmp_path / "service.log", HELIONYX_DIGEST_DIR=str(digests))
    service.start()
    try:
        with service.client() as http:
            assert http.post("/api/v1/ingest/message", json={"text": "x"}).status_code == 201
        run_file = PROJECT_ROOT / "var" / "dev" / f"helionyx-{service.port}.pid"
        assert mode(run_file) == 0o600
        assert mode(data) == 0o700
        for name in ("helionyx.db", "helionyx.db-wal"):
            assert mode(data / name) == 0o600, name
    finally:
        assert service.stop() == 0
    [digest_file] = digests.iterdir()
    assert (mode(digests), mode(digest_file)) == (0o700, 0o600)

    backups = tmp_path / "backups"
    result = cli(url, "backup", "--dir", str(backups), HELIONYX_DIGEST_DIR=str(digests))
    assert result.returncode == 0, result.stderr
    assert mode(backups) == 0o700
    assert {mode(p) for p in backups.iterdir()} == {0o600}


def test_live_refuses_a_data_directory_others_can_read(tmp_path: Path):
    digests = tmp_path / "digests"
    digests.mkdir(mode=0o755)
    os.chmod(digests, 0o755)
    env = service_environ(
        "postgresql+asyncpg://helionyx@127.0.0.1:5432/none",
        HELIONYX_DIGEST_DIR=str(digests),
        TELEGRAM_MODE="off",
    )
    result = subprocess.run(
        [sys.executable, "-m", "app.main", "--env", "live"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"refusing to start: {digests} is readable by others (mode 755)" in result.stderr
    assert f"chmod 700 {digests}" in result.stderr
