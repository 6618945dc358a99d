"""PostgreSQL least privilege: the service's role may INSERT and SELECT events, but does
not own the table; migrations run as the owner (the design contract, Event log).

Why: the owner of a table can always `ALTER TABLE ... DISABLE TRIGGER`
(https://www.postgresql.org/docs/current/sql-altertable.html), and so can a superuser, so
the append-only triggers only hold a role that is neither.

- `grant_runtime_role` (run by `make migrate` after the migrations, and after a restore,
  through `PostgresBackend.grant_runtime_role`):
  as the owner, create the service's role if it is missing and grant it exactly what the
  service uses, table by table (`GRANTS`). Safe to run every time: the privileges on the
  tables named here are revoked and granted again in one transaction.
- `startup_warning` (run by the service at start, `PostgresBackend.runtime_role_warning`):
  names what lets the connected role get past the triggers (owning the log, being a
  superuser, ...), or None.

Identifiers are quoted here the way PostgreSQL's quote_ident does; the password goes
through the server's own `format('%L')`, never into an f-string unescaped.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# What the service's role may do, table by table. A table missing here is granted nothing
# (tests/integration/test_postgres_roles.py checks that every table of
# infrastructure/tables.py is named): a new table needs its line.
APPEND_ONLY = ("SELECT", "INSERT")
READ_WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")
READ_ONLY = ("SELECT",)
GRANTS: dict[str, tuple[str, ...]] = {
    "events": APPEND_ONLY,  # the guard triggers refuse UPDATE, DELETE and TRUNCATE anyway
    # The read models and idempotency records: written per request, emptied by `rebuild`.
    "idempotency_records": READ_WRITE,
    "todos": READ_WRITE,
    "notes": READ_WRITE,
    "tracks": READ_WRITE,
    "decisions": READ_WRITE,
    "search_objects": READ_WRITE,
    "search_messages": READ_WRITE,
    # Written by migrations and restores only (the tier fence, the log id).
    "helionyx_meta": READ_ONLY,
    "alembic_version": READ_ONLY,
}
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT")

DOCS = "docs/OPERATIONS.md, PostgreSQL roles"


class RoleSetupError(RuntimeError):
    """The service's role could not be set up as it must be; the message says what to do."""


@dataclass(frozen=True)
class Grants:
    """What `grant_runtime_role` did."""

    role: str
    owner: str
    database: str
    created: bool
    tables: dict[str, tuple[str, ...]]
    sequences: tuple[str, ...] = ()
    ungranted: tuple[str, ...] = ()  # tables in schema public that GRANTS does not name
    risks: tuple[str, ...] = field(default=())  # what still lets the role past the triggers

    def summary(self) -> str:
        """One line for the operator."""
        by_privileges: dict[tuple[str, ...], list[str]] = {}
        for table, privileges in self.tables.items():
            by_privileges.setdefault(privileges, []).append(table)
        parts = [f"CONNECT on database {self.database}", "USAGE on schema public"]
        parts += [
            f"{', '.join(privileges)} on {', '.join(tables)}"
            for privileges, tables in by_privileges.items()
        ]
        if self.sequences:
            parts.append(
                f"{', '.join(SEQUENCE_PRIVILEGES)} on sequences {', '.join(self.sequences)}"
            )
        line = (
            f"roles: {'created' if self.created else 'kept'} role {self.role}, granted "
            f"{'; '.join(parts)} (owner: {self.owner})"
        )
        if self.ungranted:
            line += f"; WARNING: no grants on {', '.join(self.ungranted)}"
        if self.risks:
            line += (
                f"; WARNING: {self.role} {', '.join(self.risks)}: it could get past the "
                f"append-only triggers ({DOCS})"
            )
        return line


def runtime_role_name(runtime_url: str) -> str:
    """The role the service connects as: the URL's user, else what asyncpg would use."""
    url = make_url(runtime_url)
    user = url.username or url.query.get("user")
    if isinstance(user, tuple):
        user = user[0]
    return user or os.environ.get("PGUSER") or getpass.getuser()


def _runtime_password(runtime_url: str) -> str | None:
    url = make_url(runtime_url)
    password = url.password or url.query.get("password")
    if isinstance(password, tuple):
        password = password[0]
    return str(password) if password else None


def quote_ident(name: str) -> str:
    """An SQL identifier, quoted as PostgreSQL's quote_ident() does (always quoted)."""
    if "\x00" in name:
        raise ValueError("an identifier cannot contain NUL")
    return '"' + name.replace('"', '""') + '"'


async def grant_runtime_role(owner: AsyncEngine, runtime_url: str) -> Grants | None:
    """As the owner (`owner` connects as the tables' owner, after the migrations): create
    the service's role if missing and grant it exactly `GRANTS`. None when there is
    nothing to do: the service connects as the owner itself."""
    role = runtime_role_name(runtime_url)
    async with owner.begin() as conn:
        me, database = (await conn.execute(text("SELECT current_user, current_database()"))).one()
        if role == me:
            return None
        created = await _ensure_role(conn, role, _runtime_password(runtime_url), me)
        risks = await role_risks(conn, role)
        owned = await _tables_owned_by(conn, role)
        if owned or any(risk.startswith(("owns", "is a member")) for risk in risks):
            raise RoleSetupError(
                f"the service's role {role} owns {', '.join(owned) or 'the event log'}, so "
                f"it could disable the append-only triggers, whatever it is granted. Hand "
                f"its objects to the owner first, as a superuser in database {database}: "
                f"REASSIGN OWNED BY {quote_ident(role)} TO {quote_ident(me)}; then run "
                f"`make migrate` again ({DOCS})"
            )
        ident = quote_ident(role)
        await _grant_or_note(conn, f"GRANT CONNECT ON DATABASE {quote_ident(database)} TO {ident}")
        await _grant_or_note(conn, f"GRANT USAGE ON SCHEMA public TO {ident}")
        present = await _public_tables(conn)
        granted: dict[str, tuple[str, ...]] = {}
        for table, privileges in GRANTS.items():
            if table not in present:
                continue  # an older revision, or a downgrade
            name = f"public.{quote_ident(table)}"
            await conn.execute(text(f"REVOKE ALL ON TABLE {name} FROM {ident}"))
            await conn.execute(text(f"GRANT {', '.join(privileges)} ON TABLE {name} TO {ident}"))
            granted[table] = privileges
        sequences = tuple(
            sorted(
                (
                    await conn.execute(
                        text(
                            "SELECT c.relname FROM pg_class c "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = 'public' AND c.relkind = 'S'"
                        )
                    )
                ).scalars()
            )
        )
        for sequence in sequences:
            await conn.execute(
                text(
                    f"GRANT {', '.join(SEQUENCE_PRIVILEGES)} ON SEQUENCE "
                    f"public.{quote_ident(sequence)} TO {ident}"
                )
            )
        await _check_reachable(conn, role, database)
    return Grants(
        role=role,
        owner=me,
        database=database,
        created=created,
        tables=granted,
        sequences=sequences,
        ungranted=tuple(sorted(present - GRANTS.keys())),
        risks=tuple(risks),
    )


async def _ensure_role(conn: AsyncConnection, role: str, password: str | None, me: str) -> bool:
    exists = (
        await conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role})
    ).first()
    if exists:
        return False  # its password and attributes are the DBA's business
    # The server quotes the literal (format %L is quote_literal), so no password can break
    # out of it. The statement, password included, is seen by the server's statement log
    # if that logs DDL, as with any CREATE ROLE ... PASSWORD.
    if password is None:
        statement = f"CREATE ROLE {quote_ident(role)} LOGIN"
    else:
        statement = (
            await conn.execute(
                text(
                    "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', "
                    "CAST(:role AS text), CAST(:password AS text))"
                ),
                {"role": role, "password": password},
            )
        ).scalar_one()
    try:
        async with conn.begin_nested():
            await conn.execute(text(statement))
    except DBAPIError as e:
        raise RoleSetupError(
            f"the service's role {role} does not exist and {me} may not create it "
            f"({_first_line(e)}): create it as a superuser (CREATE ROLE {quote_ident(role)} "
            f"LOGIN PASSWORD '...'), or set HELIONYX_MIGRATION_DATABASE_URL to a role with "
            f"CREATEROLE, then run `make migrate` again ({DOCS})"
        ) from None
    return True


async def _grant_or_note(conn: AsyncConnection, statement: str) -> None:
    """Database and schema grants need the database's owner; when the owner of the tables
    is not, PUBLIC's defaults may still do (`_check_reachable` decides)."""
    try:
        async with conn.begin_nested():
            await conn.execute(text(statement))
    except DBAPIError:
        pass


async def _check_reachable(conn: AsyncConnection, role: str, database: str) -> None:
    can_connect, can_use = (
        await conn.execute(
            text(
                "SELECT has_database_privilege(:role, :database, 'CONNECT'), "
                "has_schema_privilege(:role, 'public', 'USAGE')"
            ),
            {"role": role, "database": database},
        )
    ).one()
    missing = [
        what
        for what, ok in (
            (f"CONNECT on database {database}", can_connect),
            ("USAGE on schema public", can_use),
        )
        if not ok
    ]
    if missing:
        raise RoleSetupError(
            f"the service's role {role} lacks {' and '.join(missing)}, and the migration "
            f"role may not grant it: grant it as the database's owner ({DOCS})"
        )


async def _public_tables(conn: AsyncConnection) -> set[str]:
    return set(
        (
            await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        ).scalars()
    )


async def _tables_owned_by(conn: AsyncConnection, role: str) -> list[str]:
    return sorted(
        (
            await conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tableowner = :role"
                ),
                {"role": role},
            )
        ).scalars()
    )


async def role_risks(conn: AsyncConnection, role: str | None = None) -> list[str]:
    """What lets `role` (default: the connected one) get past the event log's triggers:
    owning the table, or what amounts to it. Empty when nothing does."""
    row = (
        await conn.execute(
            text(
                "SELECT r.rolname, r.rolsuper, r.rolbypassrls, r.rolcreaterole, "
                "  c.oid IS NOT NULL AND c.relowner = r.oid AS owns, "
                "  c.oid IS NOT NULL AND c.relowner <> r.oid AND NOT r.rolsuper "
                "    AND pg_has_role(r.oid, c.relowner, 'MEMBER') AS member_of_owner, "
                "  pg_get_userbyid(c.relowner) AS owner, "
                "  current_setting('server_version_num')::int AS version "
                "FROM pg_roles r LEFT JOIN pg_class c ON c.oid = to_regclass('public.events') "
                "WHERE r.rolname = COALESCE(CAST(:role AS text), current_user)"
            ),
            {"role": role},
        )
    ).one_or_none()
    if row is None:
        return []
    risks = []
    if row.owns:
        risks.append("owns the event log")
    if row.member_of_owner:
        risks.append(f"is a member of the event log's owner {row.owner}")
    if row.rolsuper:
        risks.append("is a superuser")
        return risks
    if row.rolbypassrls:
        risks.append("can bypass row-level security (BYPASSRLS)")
    if row.rolcreaterole and row.version < 160000:
        risks.append(
            "may create roles (CREATEROLE, which before PostgreSQL 16 lets it join "
            "the owner's role)"
        )
    if (
        row.version >= 150000
        and (
            await conn.execute(
                text("SELECT has_parameter_privilege(:role, 'session_replication_role', 'SET')"),
                {"role": row.rolname},
            )
        ).scalar()
    ):
        risks.append("may SET session_replication_role (replica mode skips triggers)")
    return risks


async def startup_warning(engine: AsyncEngine) -> str | None:
    """At service start: why the connected role could get past the append-only triggers,
    as one warning, or None. Never stops the start."""
    try:
        async with engine.connect() as conn:
            role = (await conn.execute(text("SELECT current_user"))).scalar_one()
            risks = await role_risks(conn)
    except SQLAlchemyError as e:
        return f"could not check the service's database role ({type(e).__name__})"
    if not risks:
        return None
    return (
        f"the service's database role {role} {', '.join(risks)}: it could disable or "
        "get past the event log's append-only triggers. Set "
        "HELIONYX_MIGRATION_DATABASE_URL to the tables' owner, point "
        "HELIONYX_DATABASE_URL at a role of its own and run `make migrate` "
        f"(see {DOCS})"
    )


def _first_line(error: DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
