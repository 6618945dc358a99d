"""A database that cannot be used is named with its cause and its fix, in one line, by
every command, the service and alembic: never a traceback, never a bare "DBAPIError"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import API_TOKEN, postgres_admin_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    postgres_admin_url() is None, reason="needs HELIONYX_TEST_POSTGRES_URL"
)


def pg_url(**parts: object) -> str:
    return make_url(postgres_admin_url()).set(**parts).render_as_string(hide_password=False)


def run(tmp_path: Path, *args: str, url: str) -> subprocess.CompletedProcess[str]:
    """A command of the staging tier from an empty directory with no `.env.staging`."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HELIONYX_", "TELEGRAM_")) and key != "ENV"
    }
    environ.update(
        PYTHONPATH=str(PROJECT_ROOT),
        HELIONYX_API_TOKEN=API_TOKEN,
        HELIONYX_DATABASE_URL=url,
        TELEGRAM_MODE="off",
        ENV="staging",
        HELIONYX_DIGEST_DIR=str(tmp_path / "digests"),
        HELIONYX_PORT="1",
    )
    return subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


CASES = {
    "role": (
        dict(username="helionyx_no_such_role"),
        'role "helionyx_no_such_role" does not exist',
        "createuser",
    ),
    "database": (
        dict(database="helionyx_no_such_database"),
        'database "helionyx_no_such_database" does not exist',
        "createdb",
    ),
    "refused": (dict(port=1), "connection refused", "pg_isready"),
}
COMMANDS = {
    "migrate": ["-m", "app.cli", "migrate"],
    "status": ["-m", "app.cli", "status"],
    "rebuild": ["-m", "app.cli", "rebuild"],
    "verify": ["-m", "app.cli", "verify"],
    "serve": ["-m", "app.main"],
}


# Every command with one cause, every cause with two commands: the one line comes from
# one place (infrastructure/connection_problems.py), each process start costs a second.
PAIRS = [("role", command) for command in COMMANDS] + [
    ("database", "migrate"),
    ("database", "status"),
    ("refused", "serve"),
    ("refused", "verify"),
]


@pytest.mark.parametrize(("case", "command"), PAIRS)
def test_each_command_names_the_cause_and_the_fix(tmp_path: Path, command: str, case: str):
    parts, cause, fix = CASES[case]

    done = run(tmp_path, *COMMANDS[command], url=pg_url(**parts))
    said = done.stderr.replace('\\"', '"')  # the service logs JSON lines on staging

    assert done.returncode != 0
    assert "Traceback" not in said, said
    assert "DBAPIError" not in said and "unknown" not in said, said
    assert cause in said and fix in said, said
    assert "(.env.staging)" in said or case == "refused", said


def test_alembic_names_the_tier_and_database_it_migrates(tmp_path: Path):
    url = pg_url(database="helionyx_no_such_database")

    done = run(
        tmp_path,
        "-m",
        "alembic",
        "-c",
        str(PROJECT_ROOT / "alembic.ini"),
        "upgrade",
        "head",
        url=url,
    )

    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr
    assert "alembic: tier staging (ENV), database postgresql+asyncpg://" in done.stderr
    assert 'database "helionyx_no_such_database" does not exist' in done.stderr


def test_alembic_migrates_the_database_for_the_tier_env_names(tmp_path: Path, postgres_url):
    done = run(
        tmp_path,
        "-m",
        "alembic",
        "-c",
        str(PROJECT_ROOT / "alembic.ini"),
        "upgrade",
        "head",
        url=postgres_url,
    )

    assert done.returncode == 0, done.stderr
    assert "alembic: tier staging (ENV), database postgresql+asyncpg://" in done.stderr


def test_alembic_refuses_an_unknown_tier_in_one_line(tmp_path: Path):
    environ_tier = subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(PROJECT_ROOT / "alembic.ini"),
            "upgrade",
            "head",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "ENV": "production"},
    )

    assert environ_tier.returncode == 1
    assert environ_tier.stderr.strip().splitlines() == [
        "alembic: unknown environment 'production': ENV must be one of dev, staging, live"
    ]
