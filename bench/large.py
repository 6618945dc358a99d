"""The figures that need a large log: disk per event, verify, rebuild, start to ready and
resident memory at N events (1,000,000 unless EVENTS says otherwise)."""

from __future__ import annotations

import json
import statistics
import sys

import httpx

from bench import databases
from bench.load import Target, run_load
from bench.messages import message_body
from bench.processes import HOST, Server, make, run_command
from bench.report import Figure, Goal
from bench.scenarios import Run

_READS = (
    "/api/v1/state",
    "/api/v1/stats",
    "/api/v1/events?after_seq=0&limit=1000",
    "/api/v1/todos?status=all",
    "/api/v1/notes",
)


def build(run: Run) -> str:
    url = run.migrated("large.db")
    env = run.env(url)
    events = run.plan.events
    run.say(f"building a database of {events:,} events (bench.generate); this is the slow part")
    command = [
        sys.executable,
        "-m",
        "bench.generate",
        "--events",
        str(events),
    ]
    done = run_command(command, env, show_stderr=True)
    built = json.loads(done.stdout.strip().splitlines()[-1])
    run.raw["large_database"] = built
    run.say(
        f"built {built['events']:,} events in {built['seconds']:.1f} s "
        f"({built['events_per_s']:,.0f} events/s)"
    )
    return url


def measure_disk(run: Run, url: str) -> None:
    path = run.workdir / "large.db"
    events = databases.event_count(url)
    on_disk, content = databases.disk_bytes(path), databases.content_bytes(path)
    run.figures.append(
        Figure(
            "disk_bytes_per_event",
            f"disk per event at {events:,} events",
            on_disk / events,
            "B",
            content / events,
            "column bytes",
            Goal("value", at_most=500, unit="B"),
            f"{on_disk / 2**20:,.1f} MiB database and WAL, read models and indexes included",
        )
    )


def measure_operations(run: Run, url: str) -> None:
    """`make verify` and `make rebuild`, wall clock, against a raw scan of the same rows."""
    env = run.env(url)
    events = databases.event_count(url)
    rows, scan_s = databases.raw_scan_rate(run.workdir / "large.db")
    _, hash_s = databases.raw_hash_rate(run.workdir / "large.db")
    # What starting any command costs (interpreter, imports, make): the smoke run skips it.
    startup = None if run.plan.quick else make("config", env).seconds
    run.raw["operations"] = {
        "raw_scan_rows": rows,
        "raw_scan_seconds": scan_s,
        "raw_scan_and_hash_seconds": hash_s,
        "make_config_seconds": startup,
    }
    # verify against sqlite3 and hashlib alone, at least 0.8x; rebuild against the scan.
    references = {
        "verify": (hash_s, "raw sqlite3 scan + sha256", Goal("ratio", at_least=0.8)),
        "rebuild": (scan_s, "raw sqlite3 scan", Goal("value", at_least=100_000, unit="events/s")),
    }
    for name, (reference_s, reference, goal) in references.items():
        run.say(f"make {name} over {events:,} events")
        done = make(name, env)
        run.raw["operations"][f"make_{name}_seconds"] = done.seconds
        run.figures.append(
            Figure(
                f"{name}_events_per_s",
                f"make {name} at {events:,} events",
                events / done.seconds,
                "events/s",
                rows / reference_s,
                reference,
                goal,
                f"{done.seconds:.2f} s wall"
                + (
                    f", of which about {startup:.2f} s is starting a command (make config)"
                    if startup
                    else ""
                ),
            )
        )


def measure_starts(run: Run, url: str, bare_start_s: float) -> float:
    """Start to /health/ready on an empty (migrated) database and on the large one, in
    turns; the median of each. Returns the resident memory at the large one, in MiB."""
    empty = run.migrated("empty.db")
    events = databases.event_count(url)
    times: dict[str, list[float]] = {"empty": [], "large": []}
    rss = 0.0
    for turn in range(run.plan.starts):
        for name, database in (("empty", empty), ("large", url)):
            server = run.server("service", database)
            try:
                times[name].append(server.start())
                if name == "large" and turn == run.plan.starts - 1:
                    rss = _rss_after_use(run, server)
            finally:
                server.stop()
    run.say(f"start to ready: {times}")
    run.raw["starts"] = times
    empty_s, large_s = (statistics.median(times[name]) for name in ("empty", "large"))
    run.figures += [
        Figure(
            "ready_empty_s",
            "start to ready, empty database (make run)",
            empty_s,
            "s",
            bare_start_s,
            "bare app start",
            None,
            f"median of {run.plan.starts}; make run migrates first, the bare app does not",
        ),
        Figure(
            "ready_large_s",
            f"start to ready at {events:,} events (make run)",
            large_s,
            "s",
            empty_s,
            "empty database",
            Goal("ratio", at_most=1.2),
            f"median of {run.plan.starts}",
        ),
    ]
    return rss


def _rss_after_use(run: Run, server: Server) -> float:
    """Some use first (single ingests, the read endpoints), then the resident size."""
    target = Target(HOST, server.port, "/api/v1/ingest/message", run.token)
    run_load(
        run.client,
        target,
        message_body,
        connections=run.plan.connections,
        seconds=max(1.0, run.plan.warmup_s),
    )
    headers = {"Authorization": f"Bearer {run.token}"}
    with httpx.Client(
        base_url=f"http://{HOST}:{server.port}", headers=headers, timeout=120
    ) as client:
        for path in _READS:
            client.get(path).raise_for_status()
    return server.rss_mb()


def memory_figure(run: Run, events: int, rss_mb: float, bare_rss_mb: float) -> None:
    run.figures.append(
        Figure(
            "rss_mb",
            f"resident memory at {events:,} events",
            rss_mb,
            "MiB",
            bare_rss_mb,
            "bare app",
            Goal("value", at_most=200, unit="MiB"),
            "VmRSS of the serving process after a slice of ingest load (which adds events) and "
            "one call of each read endpoint",
        )
    )
