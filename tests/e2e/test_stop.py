"""One service per tier and port: a second start says who runs it, and `make stop` stops
it cleanly through its run file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT
from tests.e2e.service import Service, cli, service_environ

pytestmark = pytest.mark.e2e


def test_a_second_start_names_the_first_and_stop_ends_it(migrated_sqlite: str, tmp_path: Path):
    first = Service(migrated_sqlite, tmp_path / "first.log")
    first.start()
    try:
        second = subprocess.run(
            [sys.executable, "-m", "app.main", "--env", "dev"],
            cwd=PROJECT_ROOT,
            env=service_environ(migrated_sqlite, first.port),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 4
        assert f"already running as pid {first.process.pid}" in second.stderr
        assert "make stop ENV=dev" in second.stderr
        assert "serving on" not in second.stderr

        stop = cli(migrated_sqlite, "stop", HELIONYX_PORT=str(first.port))
        assert stop.returncode == 0, stop.stderr
        assert f"(pid {first.process.pid}, port {first.port}) has stopped" in stop.stdout
        assert first.wait(5) == 0
        assert "shutdown complete" in first.log()
    finally:
        first.stop()
    again = cli(migrated_sqlite, "stop", HELIONYX_PORT=str(first.port))
    assert again.returncode == 0 and "is not running" in again.stdout
