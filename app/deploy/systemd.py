"""The same service commands where systemd is PID 1 and the tier's unit is installed:
`systemctl` and `journalctl` instead of a detached process and its log file.

Deploys run as the service's user, who owns the tier root; `systemctl` then goes through
`sudo -n` (docs/DEPLOYMENT.md has the sudoers line). Installing a unit writes to
/etc/systemd/system and so needs root: `sudo make install-unit ENV=<tier>`. Nothing
here runs on the test machines (no systemd); tests/unit/test_deploy_systemd.py checks the
command lines it would run.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Callable
from pathlib import Path

from app.deploy.layout import DeployError, TierLayout
from app.deploy.units import render_unit, stop_timeout_for, unit_name

UNIT_DIRECTORY = Path("/etc/systemd/system")


def systemd_is_pid1() -> bool:
    """sd_booted(3): systemd is the init system when this directory exists."""
    return Path("/run/systemd/system").is_dir()


def unit_file(tier: str) -> Path:
    return UNIT_DIRECTORY / f"{unit_name(tier)}.service"


def systemctl(*args: str, euid: int | None = None) -> list[str]:
    """The command line: as root directly, else through sudo, never asking a password."""
    euid = os.geteuid() if euid is None else euid
    return ["systemctl", *args] if euid == 0 else ["sudo", "-n", "systemctl", *args]


def journalctl(tier: str, lines: int, follow: bool) -> list[str]:
    return [
        "journalctl",
        "--unit",
        unit_name(tier),
        "--lines",
        str(lines),
        "--no-pager",
        *(["--follow"] if follow else []),
    ]


class SystemdService:
    kind = "systemd unit"

    def __init__(self, layout: TierLayout) -> None:
        self.layout = layout
        self.unit = unit_name(layout.tier)

    def start(self) -> None:
        _call(systemctl("start", self.unit), f"systemctl start {self.unit}")

    def stop(self, say: Callable[[str], None] = print) -> None:
        # Blocks until the unit has stopped: SIGTERM, the drain, at most TimeoutStopSec.
        _call(systemctl("stop", self.unit), f"systemctl stop {self.unit}")
        say(f"stop: {self.unit} has stopped")

    def exit_status(self) -> int | None:
        state = subprocess.run(
            ["systemctl", "is-failed", self.unit], capture_output=True, text=True
        ).stdout.strip()
        return 1 if state == "failed" else None

    def running(self) -> bool:
        """Active, or on its way (activating, an automatic restart pending): anything
        that a stop would have to end."""
        state = subprocess.run(
            ["systemctl", "is-active", self.unit], capture_output=True, text=True
        ).stdout.strip()
        return state not in ("inactive", "failed", "unknown", "")

    def logs_command(self, lines: int, follow: bool) -> list[str]:
        return journalctl(self.layout.tier, lines, follow)

    def log_hint(self) -> str:
        return f"journalctl -u {self.unit}"


def install_unit(
    layout: TierLayout, *, user: str | None, group: str | None, grace_period_s: float
) -> str:
    """Write the tier's unit (root only), reload systemd and enable it; what was done."""
    user = user or _owner(layout.tier_root)
    text = render_unit(
        layout.tier,
        tier_root=layout.tier_root,
        user=user,
        group=group,
        stop_timeout_s=stop_timeout_for(grace_period_s),
    )
    path = unit_file(layout.tier)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return f"{path} is up to date"
    if os.geteuid() != 0:
        raise DeployError(f"writing {path} needs root: `sudo make install-unit ENV={layout.tier}`")
    staged = path.with_suffix(".new")
    staged.write_text(text, encoding="utf-8")
    staged.chmod(0o644)  # systemd reads units as root; the text holds no secret
    os.replace(staged, path)
    _call(systemctl("daemon-reload"), "systemctl daemon-reload")
    _call(systemctl("enable", unit_name(layout.tier)), "systemctl enable")
    return f"installed {path} (User={user}) and enabled it"


def _owner(path: Path) -> str:
    try:
        return pwd.getpwuid(path.stat().st_uid).pw_name
    except (OSError, KeyError):
        raise DeployError(
            f"cannot tell whose {path} is: create it for the service's user, or name the "
            "user with DEPLOY_USER="
        ) from None


def _call(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise DeployError(f"{what} failed: {why[-1] if why else f'exit {done.returncode}'}")
