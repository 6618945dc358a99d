"""Running a release's own code: its operator commands, alembic, and its configuration.

Each release is asked with its own venv and code (`<release>/.venv/bin/python -m ...` in
the release directory), so a backup is taken by the code that wrote the database and a
migration is run by the code that brings it. The environment is the operator's minus
every Helionyx variable: a deployed tier is configured by its `shared/.env.<tier>` and
the release's `config/` alone, as under systemd, never by what the operator's shell
happens to export (a `HELIONYX_DATABASE_URL` meant for the checkout would otherwise
point the live service at another database).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from app.config import load_settings
from app.deploy.layout import DeployError
from app.settings import Settings

_DROPPED_PREFIXES = ("HELIONYX_", "TELEGRAM_", "PYTHON")
_DROPPED = frozenset({"ENV", "VIRTUAL_ENV"})


def clean_environ() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_DROPPED_PREFIXES) and name not in _DROPPED
    }


def python(release: Path) -> str:
    return str(release / ".venv" / "bin" / "python")


def release_cli(
    release: Path, tier: str, *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`python -m app.cli --env <tier> <args>` of the release, in the release."""
    return _run(release, ["-m", "app.cli", "--env", tier, *args], clean_environ(), timeout)


def release_cli_shown(release: Path, tier: str, *args: str) -> int:
    """The same, its output going straight to ours (`make status` of a deployed tier)."""
    command = [python(release), "-m", "app.cli", "--env", tier, *args]
    return subprocess.run(command, cwd=release, env=clean_environ()).returncode


def release_settings(release: Path, tier: str) -> Settings:
    """The release's configuration as its service will read it (raises ConfigError)."""
    return load_settings(tier, environ=clean_environ(), root=release)


def schema_head(release: Path) -> str:
    """The alembic head revision of the release's migrations."""
    done = _run(release, ["-m", "alembic", "heads"], clean_environ(), 120)
    heads = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or len(heads) != 1:
        raise DeployError(
            f"cannot read the schema head of {release.name[:12]}: {summary(done, lines=1)}"
        )
    return heads[0]


def downgrade(release: Path, tier: str, revision: str) -> subprocess.CompletedProcess[str]:
    """`alembic downgrade <revision>` with the release's migrations (which hold the way
    down from their own revisions), on the tier's database as its tables' owner."""
    environ = {**clean_environ(), "ENV": tier}  # migrations/env.py reads the tier from ENV
    return _run(release, ["-m", "alembic", "downgrade", revision], environ, 600)


def said(done: subprocess.CompletedProcess[str]) -> str:
    """What a command that succeeded answered: the first line of its output (progress and
    audit lines go to stderr)."""
    return next((line.strip() for line in done.stdout.splitlines() if line.strip()), "done")


def summary(done: subprocess.CompletedProcess[str], *, lines: int = 3) -> str:
    """What a command that failed said, in one line: its first lines, errors first; of a
    traceback (a migration that raised), the exception it ends with."""
    text = "\n".join(part for part in (done.stderr, done.stdout) if part)
    said = [line.strip() for line in text.splitlines() if line.strip()]
    if any(line.startswith("Traceback") for line in said):
        said = [line for line in said if not line.startswith(("Traceback", "File ", "^"))][-1:]
    return " | ".join(said[:lines]) or f"exit status {done.returncode}, no output"


def _run(
    release: Path, args: list[str], environ: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    command = [python(release), *args]
    try:
        return subprocess.run(
            command, cwd=release, env=environ, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, 124, "", f"no result after {timeout:.0f} s")
    except OSError as e:
        return subprocess.CompletedProcess(command, 127, "", f"cannot run {command[0]}: {e}")
