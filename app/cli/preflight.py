"""What a command checks before it touches the log: the tier's database exists (nothing is
created on the way: connecting to a SQLite file that does not exist would create an
empty one) and, for a command that writes, that the service could serve it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from app.settings import Settings
from infrastructure.backends import backend_for
from infrastructure.connection_problems import explain

if TYPE_CHECKING:
    from app.container import Container


class DatabaseMissing(Exception):
    pass


def check_database_file(settings: Settings) -> None:
    """A database file must exist already: connecting would create an empty one."""
    url = make_url(settings.database_url)
    path = backend_for(url).database_file(url)
    if path is not None and not path.exists():
        raise DatabaseMissing(f"no database file at {path}: run `make migrate`")


async def database_problem(container: Container, settings: Settings, *, writes: bool) -> str | None:
    """Why the database cannot be used yet, with the command that fixes it; None if it can.

    A command that writes needs what the service needs (`Readiness`: the database
    answers, at the code's head, of this tier). One that only reads the log (verify)
    needs the file to exist; it reports any other problem itself, and spares the ~0.25 s
    that finding the head costs (alembic's import)."""
    try:
        check_database_file(settings)
    except DatabaseMissing as e:
        problem = str(e)
    else:
        if not writes:
            return None
        readiness = container.readiness()
        try:
            await readiness.state()
        except Exception as e:  # the cause and its fix, rather than "does not answer"
            return explain(e, settings.database_url, tier=settings.tier)
        report = await readiness.check()
        if report.ready:
            return None
        problem = "; ".join(v for v in report.checks.values() if v != "ok")
    return problem.replace("`make migrate`", f"`make migrate ENV={settings.tier}`")
