"""The systemd unit of each tier: `make install-unit` installs it where systemd is PID 1.

`helionyx-dev`, `helionyx-staging` and `helionyx` (live) run `current/.venv/bin/python -m
app.main --env <tier>` in the tier root that deploy lays out, as a user of their own.

Stopping: systemd sends SIGTERM to the main process only (`KillMode=mixed`), so the service
stops its own worker processes as it drains instead of having them killed under it. The
drain lasts up to the grace period (in-flight requests, the Telegram update in hand). After
that the service commits queued writes, writes the last digest and closes the database.
`TimeoutStopSec=` is twice the grace period plus STOP_MARGIN_S for those steps: uvicorn
waits up to the grace period for requests, then the bot's stop may wait as long again. After that
timeout systemd sends SIGKILL. SIGKILL loses the shutdown digest, but nothing acknowledged:
a write is durable before it is acknowledged. A crash restarts after RESTART_DELAY_S.
START_LIMIT_BURST starts within START_LIMIT_INTERVAL_S leave the unit failed instead of
letting it loop.

What each sandboxing line protects (systemd.exec(5)):
- `ProtectSystem=strict` with `ReadWritePaths=<root>/shared/var`: the whole file system is
  read-only except the data directory. The code, its venv, `.env.<tier>` and the other
  tiers cannot be changed. `PrivateTmp=` gives the service a /tmp no one else sees.
  `ProtectHome=` hides /home, /root and /run/user. With `UMask=0077`, everything the
  service creates is 0600 and every directory it creates is 0700.
- `NoNewPrivileges=`, an empty `CapabilityBoundingSet=` and `RestrictSUIDSGID=`: the
  process cannot gain privileges (setuid programs, file capabilities) and cannot make
  setuid files.
- `PrivateDevices=`: pseudo devices only (null, zero, urandom...), no disks.
- `ProtectKernelTunables=`, `ProtectKernelModules=`, `ProtectKernelLogs=`,
  `ProtectControlGroups=`, `ProtectClock=`, `ProtectHostname=`: the service cannot change
  kernel settings, kernel modules, the kernel log, the cgroup tree, the clock or the
  hostname.
- `RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6`: sockets for HTTP, PostgreSQL,
  Telegram and the LLM only (no raw packets, no netlink).
- `RestrictNamespaces=`, `LockPersonality=`, `RestrictRealtime=`,
  `SystemCallArchitectures=native`: no new namespaces, no switch of execution domain, no
  realtime scheduling that could starve the host, and no 32-bit system calls (the kind
  of kernel entry exploits like to use).
"""

from __future__ import annotations

import math
import re
from pathlib import PurePath

from app.config import TIERS

STOP_MARGIN_S = 20
RESTART_DELAY_S = 5
START_LIMIT_BURST = 5
START_LIMIT_INTERVAL_S = 300

SANDBOX: tuple[tuple[str, str], ...] = (
    ("NoNewPrivileges", "yes"),
    ("CapabilityBoundingSet", ""),
    ("RestrictSUIDSGID", "yes"),
    ("ProtectSystem", "strict"),
    ("PrivateTmp", "yes"),
    ("ProtectHome", "yes"),
    ("PrivateDevices", "yes"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectKernelLogs", "yes"),
    ("ProtectControlGroups", "yes"),
    ("ProtectClock", "yes"),
    ("ProtectHostname", "yes"),
    ("RestrictNamespaces", "yes"),
    ("LockPersonality", "yes"),
    ("RestrictRealtime", "yes"),
    ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
    ("SystemCallArchitectures", "native"),
    ("UMask", "0077"),
)

# These are POSIX user names that systemd accepts without a warning ("strict" names in
# systemd's valid_user_group_name(); Debian's useradd has the same rule in lower case): a
# letter or `_` first, then letters, digits, `_` and `-`, 31 characters at most.
_ACCOUNT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,30}")
# systemd refuses an ExecStart= program whose path has quotes, backslashes or control
# characters ("Executable name contains special characters", string_is_safe() in its
# source). With those and other unprintable characters refused, a path needs no escaping
# except `%`.
_QUOTES_OR_BACKSLASH = re.compile(r"[\"'\\]")

Lines = list[tuple[str, str]]


def unit_name(tier: str) -> str:
    """`helionyx` for live, the one the owner asks `systemctl` about most often; the other
    tiers carry their name."""
    _check_tier(tier)
    return "helionyx" if tier == "live" else f"helionyx-{tier}"


def stop_timeout_for(grace_period_s: float) -> int:
    """`TimeoutStopSec=` for a service draining for `grace_period_s`: the requests' drain
    and the bot's stop, each up to the grace period, then the margin."""
    return 2 * math.ceil(grace_period_s) + STOP_MARGIN_S


def render_unit(
    tier: str,
    *,
    tier_root: PurePath,
    user: str,
    group: str | None = None,
    stop_timeout_s: int,
) -> str:
    """The text of `<unit_name(tier)>.service`. If `group` is None, systemd uses the
    user's primary group."""
    name = unit_name(tier)
    _check_tier_root(tier_root)
    _check_account("user", user)
    if group is not None:
        _check_account("group", group)
    if stop_timeout_s < 1:
        raise ValueError(f"the stop timeout must be at least 1 s, not {stop_timeout_s}")
    current, shared = tier_root / "current", tier_root / "shared"
    unit: Lines = [
        ("Description", f"Helionyx personal event log ({tier})"),
        ("After", " ".join(_after(tier))),
        ("Wants", "network-online.target"),
        ("StartLimitIntervalSec", f"{START_LIMIT_INTERVAL_S}s"),
        ("StartLimitBurst", str(START_LIMIT_BURST)),
    ]
    service: Lines = [
        ("Type", "exec"),
        ("User", user),
        *([("Group", group)] if group is not None else []),
        ("WorkingDirectory", _whole(current)),
        ("EnvironmentFile", _whole(shared / f".env.{tier}")),
        ("Environment", f"ENV={tier} PYTHONUNBUFFERED=1"),
        ("ExecStart", f"{_word(current / '.venv/bin/python')} -m app.main --env {tier}"),
        ("KillSignal", "SIGTERM"),
        ("KillMode", "mixed"),
        ("TimeoutStopSec", f"{stop_timeout_s}s"),
        ("Restart", "on-failure"),
        ("RestartSec", f"{RESTART_DELAY_S}s"),
        ("StandardOutput", "journal"),
        ("StandardError", "journal"),
        ("SyslogIdentifier", name),
        ("ReadWritePaths", _word(shared / "var")),
        *SANDBOX,
    ]
    install: Lines = [("WantedBy", "multi-user.target")]
    header = f"# {name}.service: written by `make install-unit` from app/deploy/units.py.\n"
    return header + "\n".join(
        _section(title, lines)
        for title, lines in (("Unit", unit), ("Service", service), ("Install", install))
    )


def _after(tier: str) -> list[str]:
    """Network first, for Telegram and the LLM. On staging and live, PostgreSQL too, as an
    ordering only. If it runs on this host, it starts before the service and, more
    important, stops after it, so the drain can still commit. Debian's per-cluster units
    are ordered Before=postgresql.service. There is no Wants=: the database may be on
    another host, and After= on a unit that does not exist does nothing. Requires= would
    also stop the service each time PostgreSQL restarts."""
    return ["network-online.target", *(["postgresql.service"] if tier != "dev" else [])]


def _section(title: str, lines: Lines) -> str:
    return "".join([f"[{title}]\n", *(f"{key}={value}\n" for key, value in lines)])


def _whole(path: PurePath) -> str:
    """A path that is a setting's whole value (WorkingDirectory=, EnvironmentFile=):
    systemd reads it as written, spaces included. `%` starts a specifier, so it is
    doubled (systemd.unit(5), "Specifiers")."""
    return str(path).replace("%", "%%")


def _word(path: PurePath) -> str:
    """A path that is one word of a setting split at spaces (ExecStart=, ReadWritePaths=),
    in double quotes (systemd.syntax(7), "Quoting"). `$` is not expanded in ExecStart='s
    program (systemd.service(5)), so it stays as written."""
    return f'"{_whole(path)}"'


def _check_tier(tier: str) -> None:
    if tier not in TIERS:
        raise ValueError(f"the tier must be one of {', '.join(TIERS)}, not {tier!r}")


def _check_tier_root(tier_root: PurePath) -> None:
    shown = repr(str(tier_root))  # repr: a newline stays on the message's one line
    if not tier_root.is_absolute():
        raise ValueError(f"the tier root must be an absolute path, not {shown}")
    if ".." in tier_root.parts:
        raise ValueError(f"the tier root must not contain '..': {shown}")
    # isprintable() is False for control characters and for the surrogates that stand
    # for bytes that are not UTF-8, which unit files must be.
    if _QUOTES_OR_BACKSLASH.search(str(tier_root)) or not str(tier_root).isprintable():
        raise ValueError(
            f"systemd cannot run a program under {shown}: use a tier root without quotes, "
            "backslashes or unprintable characters"
        )


def _check_account(kind: str, name: str) -> None:
    if not _ACCOUNT_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a valid {kind} name: a letter or '_', then letters, digits, "
            "'_' or '-', 31 characters at most"
        )
