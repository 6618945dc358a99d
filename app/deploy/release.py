"""A release: the code of one commit and a venv of its own, never changed once built.

Built in `releases/<sha>.partial/` and renamed to `releases/<sha>/` when complete, so a
half-built release is never used. It links to the tier's shared files (`var`,
`.env.<tier>`) and contains none of them. `RELEASE.json` records what was built.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.deploy.layout import DeployError, TierLayout
from app.deploy.process import python

RECORD = "RELEASE.json"
_PACKAGES = ("app", "domain", "infrastructure", "migrations")
LOCK = "requirements.lock"
KEEP = 3
# What the Makefile's `install` touches once .venv holds what requirements.lock pins.
INSTALLED = Path(".venv") / ".installed"


@dataclass(frozen=True)
class Built:
    path: Path
    venv: str  # how the venv was made, for the operator
    seconds: float
    reused: bool = False


def git(checkout: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=True
        )
    except subprocess.CalledProcessError as e:
        raise DeployError(f"git {args[0]} failed in {checkout}: {_first_line(e.stderr)}") from None
    except FileNotFoundError:
        raise DeployError("git is not installed: deploys are built from a git checkout") from None
    return done.stdout


def head_sha(checkout: Path) -> str:
    return git(checkout, "rev-parse", "HEAD").strip()


def dirty_files(checkout: Path) -> list[str]:
    """What `git status` would show: changed, staged or untracked (not ignored) files."""
    lines = git(checkout, "status", "--porcelain", "--untracked-files=all").splitlines()
    return [line[3:] for line in lines if line.strip()]


def build(layout: TierLayout, checkout: Path, sha: str, venv_from: Path | None) -> Built:
    started = time.monotonic()
    target = layout.release(sha)
    if (target / RECORD).exists():
        return Built(target, read_record(target).get("venv", "?"), 0.0, reused=True)
    partial = target.with_name(f"{sha}.partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by a build that was interrupted
    partial.mkdir()
    _unpack(checkout, sha, partial)
    for name in ("var", layout.env_file.name):
        link = partial / name
        if link.exists() or link.is_symlink():
            raise DeployError(
                f"build: commit {sha[:12]} contains {name}, which a release must take from "
                f"the tier's shared/ directory: remove it from the repository"
            )
        link.symlink_to(Path("..") / ".." / "shared" / name)
    venv = _make_venv(layout, partial, venv_from)
    # Compiled now, while the old release still serves, rather than at the first start.
    _run(partial, [python(partial), "-m", "compileall", "-q", *_PACKAGES], "compileall")
    _write_record(partial, sha=sha, venv=venv)
    if target.exists():  # an incomplete release of the same commit: never used, replace it
        shutil.rmtree(target)
    partial.rename(target)
    return Built(target, venv, time.monotonic() - started)


def _unpack(checkout: Path, sha: str, into: Path) -> None:
    archive = subprocess.Popen(
        ["git", "-C", str(checkout), "archive", "--format=tar", sha], stdout=subprocess.PIPE
    )
    # --no-same-permissions: modes from our umask (077), not the archive's 644/755.
    unpack = subprocess.run(
        ["tar", "-x", "-C", str(into), "--no-same-owner", "--no-same-permissions"],
        stdin=archive.stdout,
        capture_output=True,
        text=True,
    )
    assert archive.stdout is not None
    archive.stdout.close()
    if archive.wait() != 0 or unpack.returncode != 0:
        raise DeployError(f"build: git archive {sha[:12]} failed: {_first_line(unpack.stderr)}")


def _make_venv(layout: TierLayout, release: Path, venv_from: Path | None) -> str:
    lock = (release / LOCK).read_bytes()
    source = _venv_like(layout, lock, venv_from)
    if source is not None:
        # Hard links: a copy in a second, sharing the files of a venv installed from the
        # same lock. pip never writes an installed file in place (it removes and writes
        # anew), so no later install elsewhere can change this one. The venv's console
        # scripts keep their first venv's path in their shebang; the service and every
        # command are started as `.venv/bin/python -m ...`, so none of them is used.
        copied = subprocess.run(
            ["cp", "-al", str(source / ".venv"), str(release / ".venv")],
            capture_output=True,
            text=True,
        )
        if copied.returncode == 0:
            return f"hard-linked from {source}"
        shutil.rmtree(release / ".venv", ignore_errors=True)  # another file system: install
    _run(release, [sys.executable, "-m", "venv", ".venv"], "python -m venv")
    _run(
        release,
        [
            python(release),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "-r",
            LOCK,
        ],
        "pip install --require-hashes -r requirements.lock",
    )
    (release / INSTALLED).touch()
    return "installed from requirements.lock"


def _venv_like(layout: TierLayout, lock: bytes, venv_from: Path | None) -> Path | None:
    """A venv installed from the same requirements.lock, byte for byte: this tier's
    releases first (newest first), then the other tiers' under the same root, then
    `venv_from` (a checkout after `make install`, or another release)."""
    digest = hashlib.sha256(lock).hexdigest()
    ours = sorted(releases(layout), key=_built_at, reverse=True)
    others = sorted(layout.root.glob(f"*/releases/*/{RECORD}"), reverse=True)
    for release in [*ours, *(record.parent for record in others)]:
        if read_record(release).get("lock_sha256") == digest and _has_venv(release):
            return release
    if venv_from is not None:
        installed = venv_from / INSTALLED
        with contextlib.suppress(OSError):
            if (
                (venv_from / LOCK).read_bytes() == lock
                and _has_venv(venv_from)
                and installed.stat().st_mtime >= (venv_from / LOCK).stat().st_mtime
            ):
                return venv_from
        print(f"build: not using {venv_from}: its .venv was not installed from this lock")
    return None


def _has_venv(directory: Path) -> bool:
    return (directory / ".venv" / "bin" / "python").exists() and (directory / INSTALLED).exists()


def _run(cwd: Path, command: list[str], what: str) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise DeployError(f"build: {what} failed: {_last_line(done.stderr or done.stdout)}")


def _write_record(release: Path, *, sha: str, venv: str) -> None:
    record = {
        "sha": sha,
        "built_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "lock_sha256": hashlib.sha256((release / LOCK).read_bytes()).hexdigest(),
        "venv": venv,
    }
    (release / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def read_record(release: Path) -> dict[str, Any]:
    try:
        data = json.loads((release / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def releases(layout: TierLayout) -> list[Path]:
    """The complete releases (a `.partial` one is not)."""
    if not layout.releases.is_dir():
        return []
    return [path for path in layout.releases.iterdir() if (path / RECORD).exists()]


def _built_at(release: Path) -> str:
    return str(read_record(release).get("built_at", ""))


def prune(layout: TierLayout, keep: int = KEEP) -> list[Path]:
    """Remove all but the newest `keep` releases; never the current or the previous one."""
    spared = {layout.current_release(), layout.previous_release()}
    newest = sorted(releases(layout), key=_built_at, reverse=True)
    removed = [path for path in newest[keep:] if path not in spared]
    removed += layout.releases.glob("*.partial")  # builds that were interrupted
    for path in removed:
        shutil.rmtree(path)
    return removed


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no output")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
