"""Why a database cannot be reached, in one line an operator can act on.

Drivers say it in their own terms, wrapped by SQLAlchemy (`DBAPIError: (asyncpg...)
role "helionyx" does not exist`, `ConnectionRefusedError: [Errno 111]`); every command
and the service say it through `explain` instead: the cause and the fix, never a
traceback, never a password.
"""

from __future__ import annotations

import socket
import sqlite3

from sqlalchemy.engine import URL, make_url

from infrastructure.database import describe

# PostgreSQL's SQLSTATE codes: https://www.postgresql.org/docs/current/errcodes-appendix.html
_POSTGRES = {
    "28000": (
        "{message}",
        "create it (createuser --pwprompt {user}) or correct the user in {variable}",
    ),
    "28P01": ("authentication failed for the user {user}", "correct the password in {variable}"),
    "3D000": ("{message}", "create it (createdb -O OWNER {database}) or correct {variable}"),
    "42501": (
        "{message}",
        "run `make migrate ENV={tier}` as the tables' owner (HELIONYX_MIGRATION_DATABASE_URL)",
    ),
    "57P03": ("the server is starting up or shutting down", "try again in a moment"),
    "53300": ("the server has too many connections", "try again, or raise max_connections"),
}


def explain(
    error: BaseException, url: str | URL, *, tier: str, variable: str = "HELIONYX_DATABASE_URL"
) -> str:
    """`<database>: <cause>: <fix>` for an error raised while connecting or at first use."""
    url = make_url(url)
    where = describe(url)
    found = getattr(error, "orig", None) or error
    code = getattr(found, "sqlstate", None) or getattr(found, "pgcode", None)
    message = str(found).splitlines()[0] if str(found) else type(found).__name__
    fields = {
        "message": message,
        "user": url.username,
        "database": url.database,
        "variable": f"{variable} (.env.{tier})",
        "tier": tier,
    }
    if code in _POSTGRES:
        cause, fix = _POSTGRES[code]
        return f"{where}: {cause.format(**fields)}: {fix.format(**fields)}"
    if isinstance(found, socket.gaierror):
        return (
            f"{where}: the host {url.host!r} is unknown: correct the host in {fields['variable']}"
        )
    if isinstance(found, ConnectionRefusedError):
        return (
            f"{where}: connection refused: is PostgreSQL running on "
            f"{url.host}:{url.port or 5432}? (pg_isready -h {url.host})"
        )
    if isinstance(found, TimeoutError):
        return f"{where}: no answer in time: check that the host is reachable"
    if isinstance(found, OSError):
        return f"{where}: {found.strerror or message}"
    if isinstance(found, sqlite3.Error) or type(found).__module__.startswith("sqlite3"):
        return f"{where}: {message}: check the file, its directory and their permissions"
    if code is not None:
        return f"{where}: {message} (SQLSTATE {code})"
    return f"{where}: {type(found).__name__}: {message}"[:400]
