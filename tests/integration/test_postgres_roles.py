"""PostgreSQL least privilege: `make migrate` runs as the tables' owner and grants the
service's own role exactly what it uses, so that role can append and read events but can
neither change them nor switch the guard triggers off (the owner always could:
https://www.postgresql.org/docs/current/sql-altertable.html).

Each test gets a fresh database and a runtime role of its own with a random name and
password; roles are cluster-wide, so they are dropped in a `finally`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.cli.backup import cmd_restore
from app.cli.migrate import cmd_migrate
from app.container import build_container, close_container
from infrastructure.backup.orchestration import backup
from infrastructure.database import create_engine
from infrastructure.migrate import RoleSetupError, migrate
from infrastructure.postgres.roles import GRANTS, grant_runtime_role, startup_warning
from infrastructure.rebuild import rebuild_read_models
from infrastructure.tables import metadata
from tests.conftest import (
    API_TOKEN,
    POSTGRES_ENV,
    create_postgres_database,
    drop_postgres_database,
    make_settings,
    postgres_admin_url,
)

ALL_TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
EXPECTED = {
    "events": {"SELECT", "INSERT"},
    "idempotency_records": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "todos": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "notes": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "tracks": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "decisions": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "search_objects": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "search_messages": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "helionyx_meta": {"SELECT"},
    "alembic_version": {"SELECT"},
}

# What the runtime role must not be able to do to the log; each fails for want of a
# privilege or of ownership (SQLSTATE 42501), before any trigger is needed.
FORBIDDEN = [
    "UPDATE events SET type = 'x.tampered'",
    "DELETE FROM events",
    "TRUNCATE events",
    "DROP TRIGGER events_reject_update_delete ON events",
    "ALTER TABLE events DISABLE TRIGGER ALL",
    "ALTER TABLE events DISABLE TRIGGER events_reject_update_delete",
    "DROP TABLE events",
    "ALTER TABLE events OWNER TO CURRENT_USER",
    # Replacing the trigger function would neutralise the triggers without touching them.
    "CREATE OR REPLACE FUNCTION events_reject_change() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN NEW; END $$",
    # Replica mode skips ordinary triggers.
    "SET session_replication_role = replica",
    "UPDATE helionyx_meta SET value = 'live' WHERE key = 'tier'",
]


def test_every_table_of_the_schema_has_its_grants():
    # Not PostgreSQL-specific: a table added to infrastructure/tables.py without a line in
    # GRANTS would be granted nothing, and the service would fail on it under its own role.
    assert set(metadata.tables) - set(GRANTS) == set()
    assert {table: set(privileges) for table, privileges in GRANTS.items()} == EXPECTED


@dataclass(frozen=True)
class Roles:
    owner_url: str  # the superuser of the test server, in the fresh database
    runtime_url: str
    role: str
    password: str
    database: str


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(_dsn(postgres_admin_url() or ""))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def roles() -> AsyncIterator[Roles]:
    if not postgres_admin_url():
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_ENV}")
    owner_url = await create_postgres_database()
    role = f"helionyx_rt_{uuid.uuid4().hex[:10]}"
    # Quotes and a backslash: the password must reach CREATE ROLE quoted, not spliced in.
    password = f"pw'{secrets.token_hex(6)}\"\\;--"
    runtime_url = make_url(owner_url).set(username=role, password=password)
    try:
        yield Roles(
            owner_url,
            runtime_url.render_as_string(hide_password=False),
            role,
            password,
            str(runtime_url.database),
        )
    finally:
        await drop_postgres_database(owner_url)  # its grants to the role go with it
        await _admin(f'DROP ROLE IF EXISTS "{role}"')


async def _privileges(roles: Roles) -> dict[str, set[str]]:
    conn = await asyncpg.connect(_dsn(roles.owner_url))
    try:
        found: dict[str, set[str]] = {}
        for table in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ):
            name = table["tablename"]
            found[name] = {
                privilege
                for privilege in ALL_TABLE_PRIVILEGES
                if await conn.fetchval(
                    "SELECT has_table_privilege($1, $2, $3)",
                    roles.role,
                    f"public.{name}",
                    privilege,
                )
            }
        return found
    finally:
        await conn.close()


def _password_matches(stored: str, role: str, password: str) -> bool:
    if stored.startswith("SCRAM-SHA-256$"):
        iterations_salt, keys = stored.removeprefix("SCRAM-SHA-256$").split("$")
        iterations, salt = iterations_salt.split(":")
        stored_key = keys.split(":")[0]
        salted = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), base64.b64decode(salt), int(iterations)
        )
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        return base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key
    return stored == "md5" + hashlib.md5((password + role).encode()).hexdigest()


@pytest.mark.postgres
async def test_migrate_creates_the_role_and_grants_exactly_what_the_service_uses(roles):
    grants = await migrate(roles.owner_url, roles.runtime_url, "dev")

    assert grants is not None and grants.created
    assert grants.role == roles.role
    assert {table: set(privileges) for table, privileges in grants.tables.items()} == EXPECTED
    assert grants.ungranted == () and grants.risks == () and grants.sequences == ()
    assert await _privileges(roles) == EXPECTED
    conn = await asyncpg.connect(_dsn(roles.owner_url))
    try:
        role = await conn.fetchrow("SELECT * FROM pg_authid WHERE rolname = $1", roles.role)
        can_connect, can_use, can_create = await conn.fetchrow(
            "SELECT has_database_privilege($1, $2, 'CONNECT'), "
            "has_schema_privilege($1, 'public', 'USAGE'), "
            "has_schema_privilege($1, 'public', 'CREATE')",
            roles.role,
            roles.database,
        )
    finally:
        await conn.close()
    assert role["rolcanlogin"]
    assert not (
        role["rolsuper"]
        or role["rolcreatedb"]
        or role["rolcreaterole"]
        or role["rolbypassrls"]
        or role["rolreplication"]
    )
    assert _password_matches(role["rolpassword"], roles.role, roles.password), (
        "the role's password is not the one in HELIONYX_DATABASE_URL"
    )
    assert can_connect and can_use and not can_create
    summary = grants.summary()
    assert "\n" not in summary
    assert f"created role {roles.role}" in summary
    assert "SELECT, INSERT on events" in summary
    assert roles.password not in summary


@pytest.mark.postgres
async def test_the_service_appends_and_reads_events_as_the_runtime_role(roles):
    await migrate(roles.owner_url, roles.runtime_url, "dev")
    settings = make_settings(roles.runtime_url, HELIONYX_MIGRATION_DATABASE_URL=roles.owner_url)
    container = build_container(settings)
    try:
        transport = httpx.ASGITransport(app=container.http_app())
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as http:
            ready = await http.get("/health/ready")
            assert ready.status_code == 200, ready.text
            created = await http.post(
                "/api/v1/ingest/message", json={"text": "todo: renew the passport"}
            )
            assert created.status_code == 201, created.text
            seq = created.json()["seq"]
            event = await http.get(f"/api/v1/events/{seq}")
            assert event.status_code == 200
            assert event.json()["payload"]["text"] == "todo: renew the passport"
            todos = await http.get("/api/v1/todos")
            assert [item["title"] for item in todos.json()["items"]] == ["renew the passport"]
        # `rebuild` empties and refills the read models under the same role.
        report = await rebuild_read_models(container.uow_factory())
        assert report.todos == 1
    finally:
        await close_container(container)


@pytest.mark.postgres
@pytest.mark.parametrize("statement", FORBIDDEN, ids=lambda s: " ".join(s.split()[:3]))
async def test_the_runtime_role_cannot_change_the_log_or_switch_its_guards_off(roles, statement):
    await migrate(roles.owner_url, roles.runtime_url, "dev")
    settings = make_settings(roles.runtime_url)
    container = build_container(settings)
    try:
        transport = httpx.ASGITransport(app=container.http_app())
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as http:
            assert (
                await http.post("/api/v1/ingest/message", json={"text": "kept"})
            ).status_code == 201
    finally:
        await close_container(container)

    conn = await asyncpg.connect(_dsn(roles.runtime_url))
    try:
        assert await conn.fetchval("SELECT current_user") == roles.role
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM events") == 1
        assert await conn.fetchval("SELECT type FROM events") == "message.ingested"
        triggers = dict(
            await conn.fetch(
                "SELECT tgname, tgenabled::text FROM pg_trigger "
                "WHERE tgrelid = 'events'::regclass AND NOT tgisinternal"
            )
        )
        assert triggers == {"events_reject_update_delete": "O", "events_reject_truncate": "O"}
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_make_migrate_twice_is_harmless(roles, capsys: pytest.CaptureFixture[str]):
    settings = make_settings(roles.runtime_url, HELIONYX_MIGRATION_DATABASE_URL=roles.owner_url)
    outputs = []
    for _ in range(2):
        container = build_container(settings)
        try:
            assert await cmd_migrate(container, settings, argparse.Namespace()) == 0
        finally:
            await close_container(container)
        outputs.append(capsys.readouterr().out)

    assert f"created role {roles.role}" in outputs[0]
    assert f"kept role {roles.role}" in outputs[1]
    for out in outputs:
        assert "at revision" in out
        assert roles.password not in out
        assert len([line for line in out.splitlines() if line.startswith("roles:")]) == 1
    assert await _privileges(roles) == EXPECTED


@pytest.mark.postgres
async def test_one_role_for_both_changes_nothing_and_says_so(roles, capsys):
    settings = make_settings(roles.owner_url)
    container = build_container(settings)
    try:
        assert await cmd_migrate(container, settings, argparse.Namespace()) == 0
    finally:
        await close_container(container)

    assert "HELIONYX_MIGRATION_DATABASE_URL" in capsys.readouterr().err
    conn = await asyncpg.connect(_dsn(roles.owner_url))
    try:
        assert await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", roles.role) is None
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_migrate_as_the_runtime_role_at_head_changes_nothing(roles, capsys):
    # A systemd ExecStartPre `migrate` without the owner's URL: at head it is a no-op
    # that passes (and warns about nothing); a pending migration would fail, as it must.
    await migrate(roles.owner_url, roles.runtime_url, "dev")
    capsys.readouterr()
    settings = make_settings(roles.runtime_url)
    container = build_container(settings)
    try:
        assert await cmd_migrate(container, settings, argparse.Namespace()) == 0
    finally:
        await close_container(container)

    out, err = capsys.readouterr()
    assert "at revision" in out and "roles:" not in out + err
    assert await _privileges(roles) == EXPECTED


@pytest.mark.postgres
async def test_the_startup_check_warns_for_the_owner_and_not_for_the_runtime_role(roles):
    await migrate(roles.owner_url, roles.runtime_url, "dev")
    owner, runtime = create_engine(roles.owner_url), create_engine(roles.runtime_url)
    try:
        warning = await startup_warning(owner)
        assert await startup_warning(runtime) is None
    finally:
        await owner.dispose()
        await runtime.dispose()

    assert warning is not None
    assert "owns the event log" in warning and "superuser" in warning
    assert "HELIONYX_MIGRATION_DATABASE_URL" in warning
    assert "docs/OPERATIONS.md" in warning


@pytest.mark.postgres
async def test_a_runtime_role_that_owns_the_tables_is_refused_until_they_are_handed_over(
    roles,
):
    # Yesterday's single-role setup: the service's role migrated, so it owns everything.
    await _admin(f'CREATE ROLE "{roles.role}" LOGIN')
    conn = await asyncpg.connect(_dsn(roles.owner_url))
    try:
        await conn.execute(f'GRANT CREATE ON SCHEMA public TO "{roles.role}"')
    finally:
        await conn.close()
    await migrate(roles.runtime_url, roles.runtime_url, "dev")

    with pytest.raises(RoleSetupError, match="REASSIGN OWNED BY"):
        await migrate(roles.owner_url, roles.runtime_url, "dev")

    conn = await asyncpg.connect(_dsn(roles.owner_url))
    try:
        await conn.execute(f'REASSIGN OWNED BY "{roles.role}" TO CURRENT_USER')
        await conn.execute(f'REVOKE CREATE ON SCHEMA public FROM "{roles.role}"')
    finally:
        await conn.close()
    grants = await migrate(roles.owner_url, roles.runtime_url, "dev")

    assert grants is not None and not grants.created and grants.risks == ()
    assert await _privileges(roles) == EXPECTED
    runtime = await asyncpg.connect(_dsn(roles.runtime_url))
    try:
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await runtime.execute("ALTER TABLE events DISABLE TRIGGER ALL")
    finally:
        await runtime.close()


@pytest.mark.postgres
async def test_the_grants_survive_a_new_migration_run_on_a_database_missing_them(roles):
    # A table granted nothing (as after a restore, --no-acl) is granted again by migrate.
    await migrate(roles.owner_url, roles.runtime_url, "dev")
    owner = create_engine(roles.owner_url)
    try:
        async with owner.begin() as conn:
            await conn.exec_driver_sql(f'REVOKE ALL ON todos FROM "{roles.role}"')
            await conn.exec_driver_sql(f'GRANT UPDATE ON events TO "{roles.role}"')
        assert (await _privileges(roles))["todos"] == set()
        grants = await grant_runtime_role(owner, roles.runtime_url)
    finally:
        await owner.dispose()

    assert grants is not None
    assert await _privileges(roles) == EXPECTED  # UPDATE on events taken back: exactly


@pytest.mark.postgres
async def test_backup_as_the_runtime_role_and_restore_as_the_owner_keeps_the_grants(
    roles, tmp_path: Path, capsys
):
    await migrate(roles.owner_url, roles.runtime_url, "dev")
    settings = make_settings(roles.runtime_url, HELIONYX_MIGRATION_DATABASE_URL=roles.owner_url)
    container = build_container(settings)
    try:
        transport = httpx.ASGITransport(app=container.http_app())
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as http:
            for text in ("first", "second"):
                assert (
                    await http.post("/api/v1/ingest/message", json={"text": text})
                ).status_code == 201
    finally:
        await close_container(container)

    made = await backup(settings.database_url, "dev", tmp_path)  # pg_dump as the runtime role
    assert made.manifest.count == 2

    container = build_container(settings)
    try:
        args = argparse.Namespace(file=made.path, yes_overwrite=True, confirm=None)
        assert await cmd_restore(container, settings, args) == 0
    finally:
        await close_container(container)
    out = capsys.readouterr().out
    assert f"kept role {roles.role}" in out

    assert await _privileges(roles) == EXPECTED
    conn = await asyncpg.connect(_dsn(roles.runtime_url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM events") == 2
        owner = await conn.fetchval(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'events'::regclass"
        )
        assert owner != roles.role
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await conn.execute("ALTER TABLE events DISABLE TRIGGER ALL")
    finally:
        await conn.close()
