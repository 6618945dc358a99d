"""`make migrate ENV=<tier>`: bring the tier's database schema to head."""

from __future__ import annotations

import argparse
import sys

from app.container import Container
from app.settings import Settings
from infrastructure import migrate as migrations
from infrastructure.database import describe

COMMAND = "migrate"


async def cmd_migrate(container: Container, settings: Settings, _: argparse.Namespace) -> int:
    # As the tables' owner (HELIONYX_MIGRATION_DATABASE_URL, default the service's URL);
    # then, on PostgreSQL, the service's own role gets exactly what it uses.
    try:
        grants = await migrations.migrate(
            settings.migration_database_url, settings.database_url, settings.tier
        )
    except migrations.RoleSetupError as e:
        print(f"migrate: the schema is migrated, but {e}", file=sys.stderr)
        return 3
    state = await container.readiness().state()
    print(f"{settings.tier}: {describe(settings.database_url)} at revision {state.revision}")
    if grants is not None:
        print(grants.summary())
    elif (warning := await migrations.startup_warning(container.engine())) is not None:
        print(f"roles: WARNING: {warning}", file=sys.stderr)  # one role for both
    return 0


def add_parser(sub) -> None:
    sub.add_parser(COMMAND, help="bring the tier's database schema to head")
