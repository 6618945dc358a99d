"""Where a deployed tier keeps its releases, its current one, its secrets and its data.

Every tier has a directory of its own under the deploy root, and nothing of one tier is
ever written under another's: three tiers side by side share only the root.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ROOT = Path("/opt/helionyx")
ROOT_VARIABLE = "HELIONYX_DEPLOY_ROOT"


class DeployError(Exception):
    """A step cannot go on; the message is one line saying what and why."""


def deploy_root(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get(ROOT_VARIABLE) or DEFAULT_ROOT).absolute()


@dataclass(frozen=True)
class TierLayout:
    root: Path
    tier: str

    @property
    def tier_root(self) -> Path:
        return self.root / self.tier

    @property
    def releases(self) -> Path:
        return self.tier_root / "releases"

    @property
    def current(self) -> Path:
        return self.tier_root / "current"

    @property
    def previous(self) -> Path:
        return self.tier_root / "previous"

    @property
    def shared(self) -> Path:
        return self.tier_root / "shared"

    @property
    def env_file(self) -> Path:
        return self.shared / f".env.{self.tier}"

    @property
    def var(self) -> Path:
        """The data directory: the database (SQLite), digests, run file, backups, logs."""
        return self.shared / "var"

    @property
    def backups(self) -> Path:
        """Where each deploy's backup goes: what `make backup` in a release writes to."""
        return self.var / "backups" / self.tier

    @property
    def log_file(self) -> Path:
        return self.var / "log" / f"{self.tier}.log"

    def release(self, sha: str) -> Path:
        return self.releases / sha

    def current_release(self) -> Path | None:
        return self._target(self.current)

    def previous_release(self) -> Path | None:
        return self._target(self.previous)

    def _target(self, link: Path) -> Path | None:
        try:
            target = os.readlink(link)
        except OSError:  # no link, or not ours to read (another user's 0700 tier root)
            return None
        return self.releases / Path(target).name

    def make_directories(self) -> None:
        """The tier's directories, 0700 (the caller's umask is 077: app/file_modes.py)."""
        for directory in (self.releases, self.var / "log", self.var / self.tier):
            directory.mkdir(parents=True, exist_ok=True)
        for directory in (self.tier_root, self.releases, self.shared, self.var, self.var / "log"):
            directory.chmod(0o700)

    def point(self, link: Path, release: Path) -> None:
        """Point `link` at `release` atomically: a reader sees the old target or the new
        one, never no link (rename(2) replaces the old link in one step)."""
        staged = link.with_name(link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
        staged.symlink_to(Path("releases") / release.name)
        os.replace(staged, link)

    def unpoint(self, link: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            link.unlink()


@contextlib.contextmanager
def tier_lock(layout: TierLayout, doing: str) -> Iterator[None]:
    """One deploy, start, stop or restart of a tier at a time (two deploys of one tier
    must never interleave); other tiers have locks of their own."""
    layout.tier_root.mkdir(parents=True, exist_ok=True)
    path = layout.tier_root / "deploy.lock"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 200, 0).decode(errors="replace").strip()
            raise DeployError(
                f"another command holds {path} ({holder or 'unknown'}): wait for it to finish"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"pid {os.getpid()}: {doing}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock
