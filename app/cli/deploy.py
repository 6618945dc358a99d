"""`make deploy|start|restart|logs|install-unit ENV=<tier>`, and `make stop|status` when
they are about a deployed tier (docs/DEPLOYMENT.md).

None of these reads the checkout's own configuration: a deployed tier is configured by
its `shared/.env.<tier>` and its release's `config/`, and lives under
`$HELIONYX_DEPLOY_ROOT/<tier>/` (app/deploy/layout.py).

`make stop` and `make status` serve the checkout's own service too (`make run`). They act
on the deployed tier when one is deployed, the checkout's own service for the tier is not
running, and the checkout's configuration for the tier names the deployed tier's port or
cannot be loaded at all: a service is identified by its port (app/run_file.py), and the
first deploy copies the checkout's `.env.<tier>`, port included.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT, ConfigError, load_settings, resolve_tier
from app.deploy.deploy import EXIT_REFUSED, Deploy, Options
from app.deploy.layout import DeployError, TierLayout, deploy_root, tier_lock
from app.deploy.process import release_cli_shown, release_settings
from app.deploy.release import RECORD
from app.deploy.service import DetachedService, manager_for, wait_ready
from app.deploy.systemd import install_unit, systemd_is_pid1, unit_file, unit_name
from app.run_file import run_file_path, running_instance

DEPLOY = "deploy"
START = "start"
RESTART = "restart"
LOGS = "logs"
INSTALL_UNIT = "install-unit"
COMMANDS = frozenset({DEPLOY, START, RESTART, LOGS, INSTALL_UNIT})
DEFAULT_GRACE_S = 10.0


def add_parsers(sub: Any) -> None:
    deploy = sub.add_parser(DEPLOY, help="deploy the checkout's HEAD to the tier, or roll back")
    _timeout(deploy)
    deploy.add_argument(
        "--migrate-timeout", type=float, default=600.0, help="seconds the migration may take"
    )
    deploy.add_argument(
        "--venv-from",
        type=Path,
        help="a directory whose .venv was installed from the same requirements.lock "
        "(a checkout after `make install`, a release): hard-linked instead of installing",
    )
    _timeout(sub.add_parser(START, help="start the deployed tier's service"))
    _timeout(sub.add_parser(RESTART, help="stop, then start the deployed tier's service"))
    logs = sub.add_parser(LOGS, help="the deployed tier's service log")
    logs.add_argument("--lines", type=int, default=100, help="how many of the last lines")
    logs.add_argument("--follow", action="store_true", help="go on showing new lines")
    unit = sub.add_parser(INSTALL_UNIT, help="install the tier's systemd unit (root)")
    unit.add_argument("--user", help="the service's user (default: the tier root's owner)")
    unit.add_argument("--group", help="its group (default: the user's primary group)")


def _timeout(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--timeout", type=float, default=60.0, help="seconds until /health/ready must answer 200"
    )


def run(args: argparse.Namespace) -> int:
    """One of COMMANDS, or `stop`/`status` of the deployed tier `deployed_tier` found."""
    try:
        layout = TierLayout(deploy_root(), resolve_tier(args.env))
    except ConfigError as e:
        print(f"helionyx: {e}", file=sys.stderr)
        return 2
    try:
        return _COMMANDS[args.command](layout, args)
    except DeployError as e:
        print(f"{args.command}: {e}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as e:  # the deploy root cannot be written, the disk is full, ...
        where = f": {e.filename}" if e.filename else ""
        print(f"{args.command}: {e.strerror or e}{where}", file=sys.stderr)
        return EXIT_REFUSED


def deployed_tier(tier: str | None) -> bool:
    """Whether `make stop`/`make status` is about the deployed tier (module docstring)."""
    if (PROJECT_ROOT / RECORD).exists():
        return False  # this code is a release, asked about itself by a deploy command
    try:
        layout = TierLayout(deploy_root(), resolve_tier(tier))
    except ConfigError:
        return False
    current = layout.current_release()
    if current is None:
        return False
    try:
        checkout = load_settings(layout.tier)
    except ConfigError:
        return True
    if running_instance(run_file_path(checkout)) is not None:
        return False
    try:
        deployed = release_settings(current, layout.tier)
    except ConfigError:
        return True
    return deployed.service.port == checkout.service.port


def _deploy(layout: TierLayout, args: argparse.Namespace) -> int:
    if systemd_is_pid1() and not unit_file(layout.tier).exists():
        print(
            f"note: systemd runs this host but {unit_name(layout.tier)} is not installed; the "
            f"service runs as a detached process until `sudo make install-unit ENV={layout.tier}`"
        )
    options = Options(
        checkout=PROJECT_ROOT,
        timeout_s=args.timeout,
        migrate_timeout_s=args.migrate_timeout,
        venv_from=args.venv_from.absolute() if args.venv_from else None,
    )
    with tier_lock(layout, "deploy"):
        return Deploy(layout, options).run()


def _start(layout: TierLayout, args: argparse.Namespace) -> int:
    with tier_lock(layout, "start"):
        return _start_locked(layout, args.timeout)


def _restart(layout: TierLayout, args: argparse.Namespace) -> int:
    with tier_lock(layout, "restart"):
        manager_for(layout).stop()
        return _start_locked(layout, args.timeout)


def _start_locked(layout: TierLayout, timeout_s: float) -> int:
    release = _current(layout)
    manager = manager_for(layout)
    if manager.running():
        print(f"start: the {layout.tier} service is already running ({release.name[:12]})")
        return 0
    try:
        settings = release_settings(release, layout.tier)
    except ConfigError as e:
        raise DeployError(str(e)) from None
    manager.start()
    try:
        seconds = wait_ready(settings, manager, timeout_s)
    except DeployError as e:
        raise DeployError(f"{e}; see {manager.log_hint()}") from None
    print(
        f"start: the {layout.tier} service ({release.name[:12]}, {manager.kind}) "
        f"is ready after {seconds:.1f} s"
    )
    return 0


def _stop(layout: TierLayout, _: argparse.Namespace) -> int:
    with tier_lock(layout, "stop"):
        manager_for(layout).stop()
    return 0


def _status(layout: TierLayout, _: argparse.Namespace) -> int:
    release = _current(layout)
    manager = manager_for(layout)
    print(f"deployed: {layout.tier_root}, release {release.name} ({manager.kind})")
    return release_cli_shown(release, layout.tier, "status")


def _logs(layout: TierLayout, args: argparse.Namespace) -> int:
    manager = manager_for(layout)
    if isinstance(manager, DetachedService) and not layout.log_file.exists():
        raise DeployError(f"no log yet at {layout.log_file}")
    command = manager.logs_command(args.lines, args.follow)
    sys.stdout.flush()
    os.execvp(command[0], command)  # tail -F or journalctl -f: ^C ends it, no traceback


def _install_unit(layout: TierLayout, args: argparse.Namespace) -> int:
    release = layout.current_release()
    grace = DEFAULT_GRACE_S
    if release is not None:
        with contextlib.suppress(ConfigError):
            grace = release_settings(release, layout.tier).service.grace_period_s
    print(install_unit(layout, user=args.user, group=args.group, grace_period_s=grace))
    return 0


def _current(layout: TierLayout) -> Path:
    release = layout.current_release()
    if release is None:
        raise DeployError(
            f"nothing is deployed in {layout.tier_root}: `make deploy ENV={layout.tier}` first"
        )
    return release


_COMMANDS = {
    DEPLOY: _deploy,
    START: _start,
    RESTART: _restart,
    LOGS: _logs,
    INSTALL_UNIT: _install_unit,
    "stop": _stop,
    "status": _status,
}
