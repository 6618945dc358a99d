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
import socket
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
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Exited, and not yet reaped by its parent: it answers signal 0 but serves nothing
    (https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html, state Z)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc here: take the signal's word
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def running_instance(path: Path) -> RunInfo | None:
    """The instance the run file names, if it is still there and still holds its port
    (a file left by a killed process, or a pid since reused, names none)."""
    info = read_run_file(path)
    if info is None or not info.alive or info.pid == os.getpid():
        return None
    try:
        with socket.create_connection((info.host, info.port), timeout=1):
            return info
    except OSError:
        return None
