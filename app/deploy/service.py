"""Starting and stopping a deployed tier's service where systemd does not manage it.

Containers and test machines have no systemd as PID 1, so the service runs as a
detached process: a session of its own, stdin from /dev/null, stdout and stderr appended
to `shared/var/log/<tier>.log` (0600). Once it accepts requests the service writes its
run file (`var/<tier>/helionyx-<port>.pid`, app/run_file.py), through which it is
stopped as `make stop` stops any Helionyx service (app/cli/stop.py). `service.json` in
the tier root names the process this module started, so that one that never came up
(and so never wrote a run file) can be stopped too.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import httpx

from app.cli.status import service_url
from app.cli.stop import stop_through_run_file
from app.config import ConfigError
from app.deploy.layout import DeployError, TierLayout
from app.deploy.process import clean_environ, python, release_settings
from app.deploy.systemd import SystemdService, systemd_is_pid1, unit_file
from app.run_file import RunInfo, pid_alive, running_instance
from app.settings import Settings

DEFAULT_STOP_WAIT_S = 30.0


class ServiceManager(Protocol):
    kind: str

    def start(self) -> None:
        """Start the release `current` points at; do not wait for it."""

    def stop(self, say: Callable[[str], None] = print) -> None:
        """Stop the tier's service, letting it drain, and `say` how it went; raise
        DeployError if it will not."""

    def exit_status(self) -> int | None:
        """The started service's exit status once it has ended, else None."""

    def running(self) -> bool: ...

    def logs_command(self, lines: int, follow: bool) -> list[str]: ...

    def log_hint(self) -> str:
        """Where the service's own log lines are, for a message."""


class DetachedService:
    kind = "detached process"

    def __init__(self, layout: TierLayout) -> None:
        self.layout = layout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def _record(self) -> Path:
        return self.layout.tier_root / "service.json"

    def running(self) -> bool:
        return running_info(self.layout) is not None or self._launched() is not None

    def start(self) -> None:
        release = self.layout.current_release()
        if release is None:
            raise DeployError(f"nothing is deployed in {self.layout.tier_root}")
        if (info := running_info(self.layout)) is not None:
            raise DeployError(f"the {self.layout.tier} service is already running (pid {info.pid})")
        if (pid := self._launched()) is not None:
            raise DeployError(
                f"pid {pid} of the {self.layout.tier} service is running but not serving: "
                f"`make stop ENV={self.layout.tier}` first"
            )
        self.layout.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = os.open(self.layout.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self._process = subprocess.Popen(
                [python(release), "-m", "app.main", "--env", self.layout.tier],
                cwd=release,
                env=clean_environ(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # outlives this command, and no terminal's ^C
            )
        finally:
            os.close(log)
        record = {
            "pid": self._process.pid,
            "release": release.name,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._record.write_text(json.dumps(record) + "\n", encoding="utf-8")

    def stop(self, say: Callable[[str], None] = print) -> None:
        wait_s = _stop_wait_s(self.layout)
        if (path := live_run_file(self.layout)) is not None:
            if stop_through_run_file(path, tier=self.layout.tier, wait_s=wait_s, say=say) != 0:
                raise DeployError(f"the {self.layout.tier} service did not stop within {wait_s} s")
        elif (pid := self._launched()) is not None:
            _terminate(pid, wait_s)
            say(f"stop: the {self.layout.tier} service (pid {pid}, not serving yet) has stopped")
        else:
            say(f"stop: the {self.layout.tier} service is not running")
        with contextlib.suppress(FileNotFoundError):
            self._record.unlink()

    def exit_status(self) -> int | None:
        return self._process.poll() if self._process is not None else None

    def log_hint(self) -> str:
        return str(self.layout.log_file)

    def logs_command(self, lines: int, follow: bool) -> list[str]:
        return ["tail", "-n", str(lines), *(["-F"] if follow else []), str(self.layout.log_file)]

    def _launched(self) -> int | None:
        """The process this module started, if it is still a Helionyx service."""
        try:
            pid = int(json.loads(self._record.read_text(encoding="utf-8"))["pid"])
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if b"app.main" not in command or not pid_alive(pid):
            return None
        return pid


def wait_ready(settings: Settings, manager: ServiceManager, timeout_s: float) -> float:
    """Seconds until `GET /health/ready` answered 200; DeployError naming why not."""
    url = f"{service_url(settings)}/health/ready"
    started = time.monotonic()
    last = "no answer"
    while time.monotonic() - started < timeout_s:
        if (status := manager.exit_status()) is not None:
            raise DeployError(f"the service exited with status {status} before it was ready")
        try:
            answer = httpx.get(url, timeout=2)
        except httpx.HTTPError as e:
            last = f"no answer ({type(e).__name__})"
        else:
            if answer.status_code == 200:
                return time.monotonic() - started
            last = _not_ready(answer)
        time.sleep(0.2)
    raise DeployError(f"{url} was not ready within {timeout_s:g} s: {last}")


def _not_ready(answer: httpx.Response) -> str:
    try:
        checks = answer.json().get("checks", {})
    except (ValueError, AttributeError):
        checks = {}
    failing = "; ".join(f"{name}: {result}" for name, result in checks.items() if result != "ok")
    return f"{answer.status_code} ({failing or answer.text[:200]})"


def _stop_wait_s(layout: TierLayout) -> float:
    release = layout.current_release()
    if release is None:
        return DEFAULT_STOP_WAIT_S
    try:
        return release_settings(release, layout.tier).service.grace_period_s + 20
    except ConfigError:
        return DEFAULT_STOP_WAIT_S


def _terminate(pid: int, wait_s: float) -> None:
    """SIGTERM, then SIGKILL: for a process that never served, nothing was acknowledged."""
    for sig, patience in ((signal.SIGTERM, wait_s), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + patience
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not pid_alive(pid):
            return
    raise DeployError(f"pid {pid} did not end after SIGKILL")


def live_run_file(layout: TierLayout) -> Path | None:
    """The run file of the tier's service that is up: whatever its port, a run file in the
    tier's own data directory is the tier's."""
    for path in sorted((layout.var / layout.tier).glob("helionyx-*.pid")):
        if running_instance(path) is not None:
            return path
    return None


def running_info(layout: TierLayout) -> RunInfo | None:
    path = live_run_file(layout)
    return running_instance(path) if path is not None else None


def manager_for(layout: TierLayout) -> ServiceManager:
    """systemd's unit where systemd runs the host and the unit is installed; else a
    detached process."""
    if systemd_is_pid1() and unit_file(layout.tier).exists():
        return SystemdService(layout)
    return DetachedService(layout)
