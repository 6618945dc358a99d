"""`make deploy ENV=<tier>`: the checkout's HEAD becomes the tier's running release, or
the release that ran before serves again and the deploy says what failed.

Until the old service is stopped nothing a user relies on changes: a dirty checkout, a
log that does not verify, a release that cannot be built or configured, a backup that
fails, each refuses the deploy with the old release still serving. After that, a failed
migration, start or readiness check is rolled back: the new service stopped, the schema
taken back down by the new release's own migrations (which never delete events:
docs/DEPLOYMENT.md), `current` pointed back, the old release started and waited for.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.cli.status import service_url
from app.config import ConfigError
from app.deploy import release as releases
from app.deploy.layout import DeployError, TierLayout
from app.deploy.process import (
    downgrade,
    release_cli,
    release_settings,
    said,
    schema_head,
    summary,
)
from app.deploy.service import ServiceManager, manager_for, wait_ready
from app.settings import Settings

EXIT_REFUSED = 1  # nothing was changed; the old release (if any) still serves
EXIT_ROLLED_BACK = 3  # the new release failed; the previous one serves again
EXIT_BROKEN = 4  # the rollback failed too: the lines printed say where it stopped
EXIT_MISSING_DATABASE = 3  # `verify` on a database file that does not exist yet


@dataclass(frozen=True)
class Options:
    checkout: Path
    timeout_s: float = 60.0
    migrate_timeout_s: float = 600.0
    venv_from: Path | None = None


class StepFailed(Exception):
    def __init__(self, step: str, why: str) -> None:
        super().__init__(f"{step} failed: {why}")
        self.step = step


def say(line: str) -> None:
    print(line, flush=True)


def tell(line: str) -> None:
    """A failure, or a step of its rollback: one line each, on stderr."""
    print(line, file=sys.stderr, flush=True)


class Deploy:
    def __init__(self, layout: TierLayout, options: Options) -> None:
        self.layout = layout
        self.options = options
        self.tier = layout.tier
        self.manager: ServiceManager = manager_for(layout)

    def run(self) -> int:
        started = time.monotonic()
        checkout = self.options.checkout
        if dirty := releases.dirty_files(checkout):
            shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
            raise DeployError(f"{checkout} has uncommitted changes ({shown}): commit them first")
        sha = releases.head_sha(checkout)
        current = self.layout.current_release()
        if current is not None and not current.is_dir():
            raise DeployError(f"{self.layout.current} points at {current}, which is missing")
        if current is not None and current.name == sha:
            return self._again(current)
        self.layout.make_directories()
        say(
            f"deploy {self.tier}: {sha[:12]} into {self.layout.tier_root} "
            + (f"(current {current.name[:12]})" if current else "(first deploy)")
        )
        self._ensure_env_file()
        if current is not None:
            self._verify(current)
        built = releases.build(self.layout, checkout, sha, self.options.venv_from)
        made = "already built" if built.reused else f"{built.seconds:.1f} s, venv {built.venv}"
        say(f"  build: releases/{sha} ({made})")
        settings = _settings(built.path, self.tier, whose="the new release's")
        new_head = schema_head(built.path)
        old_head = schema_head(current) if current is not None else None
        if current is not None:
            self._backup(current)
        return self._switch(current, built.path, settings, old_head, new_head, started)

    def _again(self, current: Path) -> int:
        settings = _settings(current, self.tier, whose="the current release's")
        if _ready(settings):
            say(f"already deployed: {current.name[:12]}, nothing changed")
            return 0
        say(f"{current.name[:12]} is deployed but its service is not ready: starting it")
        self._stop()
        self._start(settings)
        return 0

    def _ensure_env_file(self) -> None:
        """Created once from the checkout's `.env.<tier>`; never overwritten after."""
        target = self.layout.env_file
        if target.exists():
            return
        source = self.options.checkout / f".env.{self.tier}"
        if not source.is_file():
            raise DeployError(
                f"no {target}, and no {source} to start it from: `make setup ENV={self.tier}` "
                f"in {self.options.checkout} creates it (0600) and names what to fill in"
            )
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(source.read_bytes())
            file.flush()
            os.fsync(file.fileno())
        say(f"  configuration: {target} (0600) from {source}; later deploys keep it")

    def _verify(self, current: Path) -> None:
        done = release_cli(current, self.tier, "verify")
        if done.returncode == EXIT_MISSING_DATABASE:
            say("  verify: no database yet")
            return
        if done.returncode != 0:
            raise DeployError(
                f"`make verify` fails on the {self.tier} database (exit {done.returncode}): "
                f"{summary(done)}; nothing was changed"
            )
        say(f"  verify: {said(done)}")

    def _backup(self, current: Path) -> None:
        # Named through shared/, so that the path printed is where the file stays.
        done = release_cli(current, self.tier, "backup", "--dir", str(self.layout.backups))
        if done.returncode != 0:
            raise DeployError(f"backup failed: {summary(done)}; nothing was changed")
        say(f"  {said(done)}")

    def _switch(
        self,
        current: Path | None,
        new: Path,
        settings: Settings,
        old_head: str | None,
        new_head: str,
        started: float,
    ) -> int:
        self._stop()
        try:
            done = release_cli(new, self.tier, "migrate", timeout=self.options.migrate_timeout_s)
            if done.returncode != 0:
                raise StepFailed("migrate", summary(done))
            say(f"  migrate: {said(done)}")
            try:
                self.layout.point(self.layout.current, new)
            except OSError as e:
                raise StepFailed("switch", str(e)) from None
            say(f"  switch: current -> releases/{new.name}")
            self._start(settings)
        except StepFailed as failure:
            return self._roll_back(failure, current, new, old_head, new_head)
        if current is not None:
            self.layout.point(self.layout.previous, current)
        for path in releases.prune(self.layout):
            say(f"  prune: removed releases/{path.name}")
        say(
            f"deployed {new.name[:12]} to {self.tier} in {time.monotonic() - started:.1f} s; "
            f"serving on {service_url(settings)}"
        )
        return 0

    def _stop(self) -> None:
        """The running service drains and stops (app/cli/stop.py says how it went)."""
        if not self.manager.running():
            return
        self.manager.stop(say=lambda line: say(f"  {line}"))

    def _start(self, settings: Settings) -> None:
        try:
            self.manager.start()
        except (DeployError, OSError) as e:
            raise StepFailed("start", str(e)) from None
        try:
            seconds = wait_ready(settings, self.manager, self.options.timeout_s)
        except DeployError as e:
            step = "start" if self.manager.exit_status() is not None else "readiness"
            raise StepFailed(step, f"{e} (log: {self.manager.log_hint()})") from None
        say(f"  start: ready in {seconds:.1f} s ({self.manager.kind})")

    def _roll_back(
        self,
        failure: StepFailed,
        current: Path | None,
        new: Path,
        old_head: str | None,
        new_head: str,
    ) -> int:
        """Back to `current` as it was. The migration may have gone part of the way: the
        new release's downgrade takes the schema from wherever it stopped to the old head
        (a no-op when it never left it)."""
        tell(f"deploy of {new.name[:12]} to {self.tier}: {failure}")
        try:
            self._stop()
            tell("rollback: the new release is stopped")
            if old_head is not None and old_head != new_head:
                done = downgrade(new, self.tier, old_head)
                if done.returncode != 0:
                    raise DeployError(f"downgrade to {old_head} failed: {summary(done)}")
                tell(f"rollback: schema back at {old_head} (the new release's downgrade)")
            if current is None:
                self.layout.unpoint(self.layout.current)
                tell("rollback: nothing was deployed before; nothing is serving")
                return EXIT_ROLLED_BACK
            self.layout.point(self.layout.current, current)
            tell(f"rollback: current -> releases/{current.name}")
            settings = _settings(current, self.tier, whose="the previous release's")
            self.manager.start()
            wait_ready(settings, self.manager, self.options.timeout_s)
        except (DeployError, OSError) as e:
            tell(f"rollback failed: {e}; see {self.manager.log_hint()} and docs/DEPLOYMENT.md")
            return EXIT_BROKEN
        tell(
            f"rollback: the previous release {current.name[:12]} is serving on "
            f"{service_url(settings)}; releases/{new.name} is kept for inspection"
        )
        return EXIT_ROLLED_BACK


def _settings(release: Path, tier: str, *, whose: str) -> Settings:
    try:
        return release_settings(release, tier)
    except ConfigError as e:
        raise DeployError(f"{whose} configuration: {e}") from None


def _ready(settings: Settings) -> bool:
    try:
        answer = httpx.get(f"{service_url(settings)}/health/ready", timeout=2)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200
