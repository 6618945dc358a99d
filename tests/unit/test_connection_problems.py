"""One line for each way a database cannot be used: the cause, the fix, no password."""

from __future__ import annotations

import socket
import sqlite3

import pytest

from infrastructure.connection_problems import explain

URL = "postgresql+asyncpg://helionyx:Pa55-w0rd-secret@db.internal:5432/helionyx_live"


class DriverError(Exception):
    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (DriverError('role "helionyx" does not exist', "28000"), "createuser --pwprompt helionyx"),
        (
            DriverError('password authentication failed for user "helionyx"', "28P01"),
            "authentication failed for the user helionyx: correct the password in "
            "HELIONYX_DATABASE_URL (.env.live)",
        ),
        (
            DriverError('database "helionyx_live" does not exist', "3D000"),
            "createdb -O OWNER helionyx_live",
        ),
        (socket.gaierror(-2, "Name or service not known"), "the host 'db.internal' is unknown"),
        (
            ConnectionRefusedError(111, "Connect call failed"),
            "connection refused: is PostgreSQL running on db.internal:5432?",
        ),
        (DriverError("out of shared memory", "53200"), "out of shared memory (SQLSTATE 53200)"),
    ],
)
def test_each_cause_is_one_line_with_its_fix_and_no_password(error: Exception, said: str):
    line = explain(error, URL, tier="live")

    assert said in line
    assert "\n" not in line and "Pa55-w0rd-secret" not in line
    assert line.startswith("postgresql+asyncpg://helionyx:***@db.internal:5432/helionyx_live: ")


def test_a_sqlite_file_that_cannot_be_opened_points_at_permissions():
    line = explain(
        sqlite3.OperationalError("unable to open database file"),
        "sqlite+aiosqlite:////srv/helionyx.db",
        tier="dev",
    )

    assert line == (
        "sqlite+aiosqlite:////srv/helionyx.db: unable to open database file: "
        "check the file, its directory and their permissions"
    )
