"""The benchmark harness still runs (`make bench QUICK=1`): every figure comes out, in the
table and in the JSON, with numbers. Not a timed test: no target is checked here."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT
from bench.load import Target, run_load
from bench.messages import message_body
from bench.processes import HOST, Server, cpu_seconds
from tests.conftest import MAKE_IN_CHECKOUT

pytestmark = pytest.mark.e2e

SQLITE_FIGURES = (
    "ingest_rps",
    "ingest_rps_vs_durable",
    "ingest_app_alone_rps",
    "ingest_alone_per_s",
    "ingest_vs_halves",
    "ingest_vs_one_core",
    "ingest_p50_ms",
    "ingest_p99_ms",
    "batch_events_per_s",
    "import_events_per_s",
    "import_bound_events_per_s",
    "import_vs_bound",
    "batch_vs_bound",
    "disk_bytes_per_event",
    "verify_events_per_s",
    "rebuild_events_per_s",
    "ready_empty_s",
    "ready_large_s",
    "rss_mb",
)
POSTGRES_FIGURES = (
    "postgres_ingest_rps",
    "postgres_ingest_rps_vs_durable",
    "postgres_ingest_app_alone_rps",
    "postgres_ingest_alone_per_s",
    "postgres_ingest_vs_halves",
    "postgres_ingest_vs_one_core",
    "postgres_ingest_p50_ms",
    "postgres_ingest_p99_ms",
    "postgres_batch_events_per_s",
    "postgres_import_events_per_s",
    "postgres_batch_events_per_s_vs_sqlite",
    "postgres_batch_bound_events_per_s",
    "postgres_import_events_per_s_vs_sqlite",
)


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


@MAKE_IN_CHECKOUT
def test_quick_bench_reports_every_figure_in_the_table_and_the_json(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--output", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    [written] = tmp_path.glob("*.json")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.json", written.name)
    report = json.loads(written.read_text())
    assert report["quick"] is True and report["client"] in ("wrk", "asyncio")
    figures = {figure["key"]: figure for figure in report["figures"]}
    postgres = any(
        os.environ.get(name)
        for name in ("HELIONYX_BENCH_POSTGRES_URL", "HELIONYX_TEST_POSTGRES_URL")
    )
    expected = SQLITE_FIGURES + (POSTGRES_FIGURES if postgres else ())
    assert set(expected) <= set(figures), sorted(set(expected) - set(figures))

    # The hand-written durable endpoint answered every request it was sent, as stored.
    for prefix in ("", "postgres_") if postgres else ("",):
        durable = report["raw"][f"{prefix}ingest"]["durable"]
        assert durable["requests"] > 0 and durable["errors"] == 0, durable
        # Every server's process was seen using CPU under the load, and so was ingest alone.
        for name, server in report["raw"][f"{prefix}ingest"].items():
            assert _positive(server["server_cores"]), (name, server)
            assert _positive(server["server_cpu_us"]), (name, server)
        assert _positive(report["raw"][f"{prefix}ingest_alone"]["cpu_us"])

    # The bound re-inserts every row the import stored: its events and more.
    imported, again = report["raw"]["import"], report["raw"]["import_storage_alone"]
    assert again["rows"] > imported["events"] > 0 and again["transactions"] >= 1

    rows = {
        re.split(r"\s{2,}", line)[0]: re.split(r"\s{2,}", line)
        for line in result.stdout.splitlines()
    }
    for key in expected:
        figure = figures[key]
        assert _positive(figure["value"]), figure
        assert _positive(figure["reference"]), figure
        assert _positive(figure["ratio"]), figure
        row = rows.get(figure["label"])
        assert row is not None, f"{figure['label']!r} is not in the table:\n{result.stdout}"
        assert len(row) >= 5 and re.match(r"[\d,.]+ ", row[1]), row
        if figure["target"] is not None:
            assert figure["passed"] in (True, False)
            assert row[-1] in ("pass", "FAIL"), row


def test_the_asyncio_client_loads_the_bare_endpoint(tmp_path: Path):
    """The client used where wrk is not installed (the test above may have used wrk)."""
    token = "bench-smoke-token-0123"
    bare = Server.bare(token, tmp_path / "bare.log")
    bare.start(timeout=60)
    try:
        target = Target(HOST, bare.port, "/api/v1/ingest/message", token)
        result = run_load("asyncio", target, message_body, connections=4, seconds=0.5)
    finally:
        assert bare.stop() == 0
    assert result.requests > 0 and result.errors == 0, result
    assert 0 < result.p50_ms <= result.p99_ms
    assert result.client_cpu > 0


def test_a_process_cpu_time_counts_its_threads_ended_ones_too():
    """What the figures' CPU per request rests on: the driver's threads count with the
    event loop's, and a thread that has ended still counts."""

    def spin() -> None:
        deadline = time.thread_time() + 0.3
        while time.thread_time() < deadline:
            pass

    before = cpu_seconds(os.getpid())
    worker = threading.Thread(target=spin)
    worker.start()
    worker.join()
    assert cpu_seconds(os.getpid()) - before >= 0.25
