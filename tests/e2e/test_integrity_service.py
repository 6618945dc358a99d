"""The service as a real process watching its own log: digests at the configured cadence
and at SIGTERM, and a tampered log found at start (ready 503, writes 503, reads 200),
on SQLite (PostgreSQL's start check and audit: tests/integration/test_integrity.py);
`make verify` names it."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from infrastructure.database import create_engine
from tests.conftest import digest_dir
from tests.e2e.service import Service, cli
from tests.support import tamper

pytestmark = pytest.mark.e2e


def digests_of(url: str) -> list[dict]:
    async def log_id() -> str:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                from sqlalchemy import text

                return (
                    await conn.execute(text("SELECT value FROM helionyx_meta WHERE key = 'log_id'"))
                ).scalar_one()
        finally:
            await engine.dispose()

    path = digest_dir() / f"{asyncio.run(log_id())}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def with_engine(url: str, action) -> None:
    async def go() -> None:
        engine = create_engine(url)
        try:
            await action(engine)
        finally:
            await engine.dispose()

    asyncio.run(go())


def post(service: Service, count: int) -> None:
    with service.client() as http:
        for n in range(count):
            response = http.post(
                "/api/v1/ingest/message",
                json={"text": f"note {n}"},
                headers={"Idempotency-Key": f"k{n}"},
            )
            assert response.status_code == 201, response.text


def test_digests_at_the_cadence_and_at_sigterm_then_a_cut_tail_is_refused(
    migrated_sqlite: str, tmp_path: Path
):
    # As a process on SQLite: digests are written the same way on every backend, and
    # PostgreSQL's start check and audit are in tests/integration/test_integrity.py.
    migrated = migrated_sqlite
    service = Service(
        migrated,
        tmp_path / "service.log",
        HELIONYX_DIGEST_EVERY_EVENTS="5",
        HELIONYX_DIGEST_EVERY_S="3600",
    )
    service.start()
    post(service, 12)
    deadline = time.monotonic() + 10
    while not any(d["reason"] == "interval" and d["seq"] >= 10 for d in digests_of(migrated)):
        assert time.monotonic() < deadline, digests_of(migrated)
        time.sleep(0.2)
    assert service.stop() == 0
    last = digests_of(migrated)[-1]
    assert (last["reason"], last["seq"]) == ("shutdown", 12)
    assert "digest written: seq 12" in service.log()

    with_engine(migrated, lambda engine: tamper.truncate_tail(engine, 1))
    service.start(wait_ready=False)
    deadline = time.monotonic() + 20
    while True:
        try:
            ready = httpx.get(f"{service.base_url}/health/ready", timeout=1)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert ready.status_code == 503
    assert "says seq 12 has hash" in ready.json()["checks"]["integrity"]
    with service.client() as http:
        write = http.post("/api/v1/ingest/message", json={"text": "after the cut"})
        assert write.status_code == 503
        assert "writes are refused" in write.json()["detail"]
        assert http.get("/api/v1/events/11").status_code == 200
    assert service.stop() == 0
    assert digests_of(migrated)[-1]["seq"] == 12  # a contradicted log is not re-anchored

    verify = cli(migrated, "verify")
    assert verify.returncode == 1
    assert "the log ends at seq 11" in verify.stderr
    assert "points at seq 12, which the log does not hold" in verify.stderr


def test_a_payload_changed_with_the_triggers_put_back_is_found_while_serving(
    migrated_sqlite: str, tmp_path: Path
):
    # SQLite only here, as a process: the same audit on PostgreSQL is
    # tests/integration/test_integrity.py (assert_closed_at_start).
    migrated = migrated_sqlite
    service = Service(migrated, tmp_path / "service.log")
    service.start()
    post(service, 6)
    assert service.stop() == 0
    with_engine(migrated, lambda engine: tamper.change_payload(engine, 3, {"text": "forged"}))

    service.start(wait_ready=False)
    deadline = time.monotonic() + 20
    while True:  # the full audit runs in the background once the service is up
        try:
            ready = httpx.get(f"{service.base_url}/health/ready", timeout=1)
            if ready.status_code == 503:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, service.log()
        time.sleep(0.1)
    assert "seq 3" in ready.json()["checks"]["integrity"]
    assert service.stop() == 0
    verify = cli(migrated, "verify")
    assert verify.returncode == 1 and "seq 3" in verify.stderr
