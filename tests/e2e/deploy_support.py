"""A host for `make deploy`: a git checkout of the code under test, a deploy root, and
`make` run in that checkout as an operator runs it.

The checkout is a snapshot of this working tree (tracked and untracked files, what git
ignores left out) committed into a fresh repository: in CI, a clean clone, that is HEAD;
here it is the work in progress too. Nothing runs in this checkout, so its own `.env.*`
and `var/` are never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from app.config import PROJECT_ROOT
from app.deploy.layout import TierLayout
from app.deploy.process import release_cli
from app.deploy.service import DetachedService
from tests.conftest import API_TOKEN
from tests.e2e.service import free_port

GIT_USER = ["-c", "user.name=Deploy Test", "-c", "user.email=deploy@test.invalid"]
MAKE_TIMEOUT_S = 600


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *GIT_USER, "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def snapshot_of_this_checkout(into: Path) -> Path:
    listed = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "ls-files", "-z", "--cached", "--others"]
        + ["--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = PROJECT_ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is left out
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    git(into, "init", "--quiet")
    git(into, "add", "--all")
    git(into, "commit", "--quiet", "-m", "the code under test")
    return into


def clone(source: Path, into: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(source), str(into)], check=True)
    return into


def commit(repo: Path, message: str, files: dict[str, str | None]) -> str:
    """Write (or, for None, remove) files, commit them; the new HEAD."""
    for name, text in files.items():
        path = repo / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def env_file(database_url: str | None = None, **extra: str) -> tuple[int, str]:
    """A tier's `.env.<tier>` on a free port: its port and its text."""
    port = free_port()
    values = {
        "HELIONYX_API_TOKEN": API_TOKEN,
        "HELIONYX_PORT": str(port),
        "TELEGRAM_MODE": "off",
        "HELIONYX_LOG_LEVEL": "INFO",
        **({"HELIONYX_DATABASE_URL": database_url} if database_url else {}),
        **extra,
    }
    return port, "".join(f"{name}={value}\n" for name, value in values.items())


def migration(revision: str, down: str, *, upgrade: str, downgrade: str) -> dict[str, str | None]:
    """A migration file after `down`, as `commit` takes it."""
    text = f'''"""{revision}, for the deploy tests.

Revision ID: {revision}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    {upgrade}


def downgrade() -> None:
    {downgrade}
'''
    return {f"migrations/versions/{revision}_deploy_test.py": text}


class Host:
    """One deploy root (`HELIONYX_DEPLOY_ROOT`) and the services `make` starts in it."""

    def __init__(self, root: Path, venv_from: Path | None = None) -> None:
        self.root = root
        self.venv_from = venv_from

    def layout(self, tier: str) -> TierLayout:
        return TierLayout(self.root, tier)

    def make(
        self, checkout: Path, target: str, tier: str, **variables: str
    ) -> subprocess.CompletedProcess[str]:
        """`make <target> ENV=<tier>` in the checkout, with this test process's venv (made
        from the same requirements.lock; `-o` keeps make from reinstalling it)."""
        if target == "deploy" and self.venv_from is not None:
            variables.setdefault("VENV_FROM", str(self.venv_from))
        command = [
            "make",
            "--no-print-directory",
            "-s",
            "-o",
            f"{sys.prefix}/.installed",
            f"VENV={sys.prefix}",
            target,
            f"ENV={tier}",
            *(f"{name}={value}" for name, value in variables.items()),
        ]
        return subprocess.run(
            command,
            cwd=checkout,
            env={**operator_environ(), "HELIONYX_DEPLOY_ROOT": str(self.root)},
            capture_output=True,
            text=True,
            timeout=MAKE_TIMEOUT_S,
        )

    def cli(self, tier: str, *args: str) -> subprocess.CompletedProcess[str]:
        """An operator command of the tier's current release, as the deploy runs them."""
        release = self.layout(tier).current_release()
        assert release is not None
        return release_cli(release, tier, *args)

    def stop_all(self) -> None:
        """Whatever a test left running, stopped (then killed)."""
        for tier in ("dev", "staging", "live"):
            layout = self.layout(tier)
            if not layout.tier_root.exists():
                continue
            with contextlib.suppress(Exception):
                DetachedService(layout).stop()
            for pid in _pids_of(layout):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _pids_of(layout: TierLayout) -> list[int]:
    """Every process running a release of this tier (there should be none left)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            command = (entry / "cmdline").read_bytes()
            if str(layout.releases).encode() in command and b"app.main" in command:
                pids.append(int(entry.name))
    return pids


def operator_environ() -> dict[str, str]:
    """The shell of an operator who never exported a Helionyx variable."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("HELIONYX_", "TELEGRAM_", "PYTEST_")) and name != "ENV"
    }


def client(port: int) -> httpx.Client:
    return httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        timeout=10,
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def all_events(port: int) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    after = 0
    with client(port) as http:
        while True:
            page = http.get("/api/v1/events", params={"after_seq": after, "limit": 1000}).json()
            events += page["items"]
            if page["next_after_seq"] is None:
                return events
            after = page["next_after_seq"]
