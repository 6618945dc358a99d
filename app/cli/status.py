"""`make status ENV=<tier>`: is the service up, and what does its database hold?

Works whether the service runs or not, and says which. The service is asked over HTTP on
the tier's configured host and port (2 s each) and found through its run file; the
database is read directly, so its facts show when the service is down too. Exit 0 when
it could report, 3 only when the database cannot be read.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from rich.console import Console
from rich.table import Table

from app.cli.preflight import DatabaseMissing, check_database_file
from app.run_file import RunInfo, read_run_file, run_file_path
from app.settings import Settings
from domain.events import LogHead
from infrastructure.connection_problems import explain
from infrastructure.database import describe
from infrastructure.migrate import head_revision
from infrastructure.schema import DatabaseState

if TYPE_CHECKING:
    from app.container import Container

COMMAND = "status"
EXIT_DATABASE = 3
TIMEOUT_S = 2.0


@dataclass(frozen=True)
class ServiceFacts:
    url: str
    run: RunInfo | None
    healthy: bool
    ready: str | None = None  # "ready", or what the 503 named
    state: dict[str, Any] | None = None  # GET /api/v1/state, when it answered


@dataclass(frozen=True)
class DatabaseFacts:
    state: DatabaseState
    expected_revision: str
    head: LogHead | None  # None: no schema yet
    last_event_at: datetime | None


def add_parser(sub: Any) -> None:
    sub.add_parser(COMMAND, help="is the service running? its health, database, log and bot")


async def cmd_status(container: Container, settings: Settings, _: argparse.Namespace) -> int:
    service = await probe_service(settings)
    try:
        database = await read_database(container, settings)
    except Exception as e:  # whatever the driver raises, the answer is "cannot be read"
        problem = (
            str(e)
            if isinstance(e, DatabaseMissing)
            else explain(e, settings.database_url, tier=settings.tier)
        )
        render(settings, service, None, problem)
        print(f"helionyx: the database cannot be read ({problem})", file=sys.stderr)
        return EXIT_DATABASE
    render(settings, service, database, None)
    return 0


def service_url(settings: Settings) -> str:
    """Where the tier's service answers, as seen from this host (a wildcard bind is asked
    on loopback)."""
    host = settings.service.host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{host}:{settings.service.port}"


async def probe_service(settings: Settings) -> ServiceFacts:
    url = service_url(settings)
    run = read_run_file(run_file_path(settings))
    token = settings.api.token.get_secret_value()
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT_S) as http:
        health = await _get(http, "/health")
        if health is None or health.status_code != 200:
            return ServiceFacts(url, run, healthy=False)
        ready = await _get(http, "/health/ready")
        state = await _get(http, "/api/v1/state", headers={"Authorization": f"Bearer {token}"})
    return ServiceFacts(
        url,
        run,
        healthy=True,
        ready=_readiness(ready),
        state=state.json() if state is not None and state.is_success else None,
    )


async def read_database(container: Container, settings: Settings) -> DatabaseFacts:
    check_database_file(settings)
    state = await container.readiness().state()
    head = last_event_at = None
    if state.revision is not None:
        event_log = container.event_log()
        head = await event_log.head()
        if head.last_seq:
            last_event_at = (await event_log.get(head.last_seq)).recorded_at
    return DatabaseFacts(state, head_revision(), head, last_event_at)


async def _get(http: httpx.AsyncClient, path: str, **kwargs: Any) -> httpx.Response | None:
    try:
        return await http.get(path, **kwargs)
    except httpx.HTTPError:
        return None


def _readiness(response: httpx.Response | None) -> str:
    if response is None:
        return "no answer"
    if response.status_code == 200:
        return "ready"
    try:
        checks = response.json().get("checks", {})
    except ValueError:
        checks = {}
    failing = "; ".join(f"{name}: {result}" for name, result in checks.items() if result != "ok")
    return f"not ready ({failing or response.status_code})"


def render(
    settings: Settings, service: ServiceFacts, database: DatabaseFacts | None, problem: str | None
) -> None:
    table = Table(title=f"Helionyx {settings.tier}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in _service_rows(settings, service):
        table.add_row(name, value)
    table.add_section()
    for name, value in _database_rows(settings, database, problem):
        table.add_row(name, value)
    table.add_section()
    table.add_row("telegram", _telegram(settings, service))
    # Not a terminal (a pipe, a test): wide enough that a hash stays on one line.
    Console(width=None if sys.stdout.isatty() else 120).print(table)


def _service_rows(settings: Settings, service: ServiceFacts) -> list[tuple[str, str]]:
    run = service.run if service.run is not None and service.run.alive else None
    if not service.healthy:
        if run is not None:
            line = f"NOT ANSWERING: pid {run.pid} is alive but {service.url} does not answer"
        elif service.run is not None:
            line = (
                f"not running (stale run file: pid {service.run.pid} ended without a "
                "clean shutdown)"
            )
        else:
            line = f"not running (nothing answers on {service.url})"
        return [("service", line)]
    pid = f"pid {run.pid}" if run is not None else "pid unknown (no run file)"
    rows = [("service", f"running, {pid}, port {settings.service.port}, {service.url}")]
    if service.state is not None:
        rows.append(("uptime", _duration(service.state.get("uptime_s", 0))))
        rows.append(("version", str(service.state.get("version"))))
    elif run is not None:
        rows.append(("uptime", _duration(time.time() - run.started_at.timestamp())))
    rows += [("health", "ok"), ("readiness", service.ready or "unknown")]
    return rows


def _database_rows(
    settings: Settings, database: DatabaseFacts | None, problem: str | None
) -> list[tuple[str, str]]:
    rows = [("database", f"{settings.dialect}, {describe(settings.database_url)}")]
    if database is None:
        return [*rows, ("", f"CANNOT BE READ: {problem}")]
    state, expected = database.state, database.expected_revision
    if state.revision is None:
        revision = f"no schema (head is {expected}): run `make migrate`"
    elif state.revision == expected:
        revision = f"{state.revision} (head)"
    else:
        revision = f"{state.revision}, the code expects {expected}: run `make migrate`"
    tier = state.tier or "not recorded"
    if state.tier is not None and state.tier != settings.tier:
        tier += f" (NOT {settings.tier}: the service refuses it)"
    rows += [("schema", revision), ("recorded tier", tier)]
    if database.head is not None:
        last = database.last_event_at
        rows += [
            ("events", str(database.head.count)),
            ("head hash", database.head.last_hash),
            ("last event", _moment(last) if last is not None else "none yet"),
        ]
    return rows


def _telegram(settings: Settings, service: ServiceFacts) -> str:
    telegram = (service.state or {}).get("telegram")
    if telegram is None:
        return f"{settings.telegram.mode} (configured; the service is not answering)"
    mode = telegram.get("mode")
    if mode == "off":
        return "off"
    doing = {"polling": "polling", "webhook": "webhook registered"}.get(mode, mode)
    return f"{mode}: {doing}" if telegram.get("running") else f"{mode}: not running yet"


def _moment(when: datetime) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    ago = _duration((datetime.now(UTC) - when).total_seconds())
    return f"{when.astimezone(UTC).isoformat(timespec='seconds')} ({ago} ago)"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0s"
