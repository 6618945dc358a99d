"""`make bench` (`python -m bench.run`): the service as a user starts it, beside a bare
endpoint of the same shape, measured in the same run; prints a table and writes
`bench/results/<date>.json`. `--quick` (`make bench QUICK=1`) is the smoke mode: small
counts, a few seconds of load, every figure still there. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT
from bench import databases, large
from bench.load import load_client
from bench.processes import Server, make
from bench.report import table, write_json
from bench.scenarios import (
    Plan,
    Run,
    measure_batch,
    measure_import,
    measure_ingest,
    measure_postgres_batch_bound,
)
from infrastructure.database import describe

POSTGRES_ENV = ("HELIONYX_BENCH_POSTGRES_URL", "HELIONYX_TEST_POSTGRES_URL")
FULL_EVENTS = 1_000_000


def plan_for(args: argparse.Namespace) -> Plan:
    if args.quick:
        return Plan(
            quick=True,
            events=args.events or 2_000,
            slice_s=1.0,
            rounds=1,
            warmup_s=0.0,
            starts=1,
            import_messages=500,
            batch_size=100,
        )
    return Plan(
        quick=False,
        events=args.events or FULL_EVENTS,
        slice_s=5.0,
        rounds=3,
        warmup_s=1.0,
        starts=3,
        import_messages=20_000,
        batch_size=1000,
    )


def sqlite_phase(run: Run, bare: Server) -> None:
    url = databases.sqlite_url(run.workdir / "service.db")  # make run migrates it
    service = run.server("service", url)
    durable = run.server("durable", databases.sqlite_url(run.workdir / "durable.db"))
    alone = run.server("alone", run.migrated("app_alone.db"))
    run.raw["first_start_s"] = service.start()
    durable.start()
    alone.start()
    try:
        servers = {"bare": bare, "durable": durable, "alone": alone, "service": service}
        measure_ingest(run, servers, "", run.migrated("ingest_alone.db"))
        measure_batch(run, {"bare": bare, "service": service}, "")
    finally:
        alone.stop()
        durable.stop()
        run.raw["service_exit"] = service.stop()
    measure_import(run, run.migrated("import.db"), "")


def postgres_phase(run: Run, bare: Server, admin_url: str) -> None:
    with (
        databases.PostgresDatabase(admin_url) as database,
        databases.PostgresDatabase(admin_url) as durable_database,
        databases.PostgresDatabase(admin_url) as alone_database,
    ):
        run.say(f"PostgreSQL: a fresh database {database.name}")
        service = run.server("service", database.url)  # make run migrates it
        durable = run.server("durable", durable_database.url)
        make("migrate", run.env(alone_database.url))
        alone = run.server("alone", alone_database.url)  # reads it only for /health/ready
        service.start()
        durable.start()
        alone.start()
        try:
            servers = {"bare": bare, "durable": durable, "alone": alone, "service": service}
            measure_ingest(run, servers, "postgres_", alone_database.url)
            measure_batch(run, {"bare": bare, "service": service}, "postgres_")
        finally:
            alone.stop()
            durable.stop()
            run.raw["postgres_service_exit"] = service.stop()
        measure_postgres_batch_bound(run, database.url, admin_url)
    # Into a fresh, migrated database, as SQLite's import goes into its own import.db: the
    # two are held against each other.
    with databases.PostgresDatabase(admin_url) as imported:
        make("migrate", run.env(imported.url))
        measure_import(run, imported.url, "postgres_")


def measure(run: Run, postgres_url: str | None) -> None:
    bare = run.server("bare")
    bare_start_s = bare.start()
    try:
        sqlite_phase(run, bare)
        bare_rss = bare.rss_mb()
        url = large.build(run)
        events = databases.event_count(url)
        large.measure_disk(run, url)
        large.measure_operations(run, url)
        rss = large.measure_starts(run, url, bare_start_s)
        large.memory_figure(run, events, rss, bare_rss)
        if postgres_url:
            postgres_phase(run, bare, postgres_url)
    finally:
        bare.stop()


def machine(client: str) -> dict[str, Any]:
    wrk = ""
    if client == "wrk":
        wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": wrk.split("[")[0].strip() or None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke mode: small counts")
    parser.add_argument(
        "--events",
        type=int,
        default=int(os.environ.get("EVENTS") or 0),
        help=f"events in the large database (default {FULL_EVENTS:,}; quick: 2,000; or EVENTS=)",
    )
    parser.add_argument("--client", choices=("auto", "wrk", "asyncio"), default="auto")
    parser.add_argument(
        "--output",
        type=Path,
        default=PROJECT_ROOT / "bench" / "results",
        help="folder for <date>.json",
    )
    args = parser.parse_args(argv)
    plan = plan_for(args)
    client = load_client(prefer_wrk=args.client != "asyncio")
    if args.client == "wrk" and client != "wrk":
        parser.error("wrk is not installed")
    postgres_url = next((os.environ[name] for name in POSTGRES_ENV if os.environ.get(name)), None)
    started_at, started = datetime.now(UTC), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="helionyx-bench-") as tmp:
        run = Run(plan, Path(tmp), client, secrets.token_urlsafe(24))
        run.say(
            f"{'quick' if plan.quick else 'full'} run, load from {client}, "
            f"large database {plan.events:,} events"
        )
        try:
            measure(run, postgres_url)
            error = None
        except Exception as e:  # keep what was measured before the failure
            error = "".join(traceback.format_exception(e))
            run.say(f"stopped by an error; the figures so far are kept:\n{error}")
    elapsed = time.perf_counter() - started
    meta = {
        "date": started_at.date().isoformat(),
        "started_at": started_at.isoformat(),
        "seconds": elapsed,
        "quick": plan.quick,
        "client": client,
        "plan": vars(plan),
        "machine": machine(client),
        "postgres": describe(postgres_url)
        if postgres_url
        else f"skipped: set {POSTGRES_ENV[0]} (or {POSTGRES_ENV[1]})",
        "raw": run.raw,
        "error": error,
    }
    path = args.output / f"{meta['date']}.json"
    write_json(path, meta, run.figures)
    print(
        f"Helionyx benchmark, {meta['date']}, {'quick' if plan.quick else 'full'} run, "
        f"load from {client}, {os.cpu_count()} cpus, {elapsed:.0f} s"
    )
    print(table(run.figures))
    built = run.raw.get("large_database")
    if built:
        print(
            f"\nlarge database: {built['events']:,} events built in {built['seconds']:.1f} s "
            f"by bench.generate ({built['events_per_s']:,.0f} events/s)"
        )
    print(f"\nwritten to {path}" + ("\n\nINCOMPLETE: the run stopped on an error" if error else ""))
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
