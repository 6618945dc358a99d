"""The run file: which process serves a tier on a port, written once it accepts requests.

`var/<tier>/helionyx-<port>.pid`, JSON {pid, port, host, started_at}. Keyed by port as
well as tier because a port is what identifies a running service: two services (two
checkouts, the test suite) can never share one, so they never overwrite each other's
file. `status` reads it to name the pid and the uptime; a file whose pid is gone is
stale (the service was killed) and says so.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.settings import Settings


@dataclass(frozen=True)
class RunInfo:
    pid: int
    port: int
    host: str
    started_at: datetime

    @property
    def alive(self) -> bool:
        return pid_alive(self.pid)


def run_file_path(settings: Settings) -> Path:
    return settings.root / "var" / settings.tier / f"helionyx-{settings.service.port}.pid"


def write_run_file(path: Path, *, host: str, port: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "pid": os.getpid(),
        "port": port,
        "host": host,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(body) + "\n", encoding="utf-8")
    temporary.replace(path)  # atomic: a reader sees the old file or the whole new one


def read_run_file(path: Path) -> RunInfo | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunInfo(
            pid=int(data["pid"]),
            port=int(data["port"]),
            host=str(data["host"]),
            started_at=datetime.fromisoformat(data["started_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_run_file(path: Path) -> None:
    """Removes the file if this process wrote it (never another instance's)."""
    info = read_run_file(path)
    if info is not None and info.pid == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
