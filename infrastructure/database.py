"""Engines by URL, and what may be said about a database URL in a log."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine


def create_engine(url: str | URL, *, pool_size: int = 5) -> AsyncEngine:
    """The engine of the backend the URL names (infrastructure/backends.py)."""
    from infrastructure.backends import backend_for

    url = make_url(url)
    return backend_for(url).create_engine(url, pool_size=pool_size)


def make_room_for(url: str | URL) -> None:
    """The directory a new database file goes into (`make migrate` creates the file).
    Nothing else creates it: a command that only reads must leave the disk as it was."""
    from infrastructure.backends import backend_for

    url = make_url(url)
    path = backend_for(url).database_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def describe(url: str | URL) -> str:
    """The database named for logs: dialect and place, never the password, also not one
    given as a query key (asyncpg takes ?password=...)."""
    url = make_url(url)
    query = {
        key: ("***" if "password" in key.lower() else value) for key, value in url.query.items()
    }
    return url.set(query=query).render_as_string(hide_password=True)


def url_passwords(url: str | URL) -> list[str]:
    """Every password a URL carries, so that logs can mask them."""
    url = make_url(url)
    found = [str(url.password)] if url.password else []
    for key, value in url.query.items():
        if "password" in key.lower():
            found += [value] if isinstance(value, str) else list(value)
    return found


def cause(error: BaseException) -> str:
    """The driver's own words (`database or disk is full`), without SQLAlchemy's wrapping:
    for logs and for a 503's detail (it names our outage, never a secret)."""
    found = getattr(error, "orig", None) or error
    return f"{type(found).__name__}: {found}".splitlines()[0][:300]
