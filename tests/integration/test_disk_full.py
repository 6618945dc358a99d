"""A full disk: writes get 503 and store nothing, the log names the cause, readiness says
so until a write succeeds again, and then the service carries on. The database lives on
a small tmpfs mounted for the test (root, as on these machines and in CI)."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.container import build_container, close_container
from infrastructure.migrate import upgrade
from tests.conftest import API_TOKEN, make_settings


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"this test mounts a small tmpfs (as root): {done.stderr}"
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_full_disk_is_named_and_readiness_follows_it(small_disk: Path, caplog):
    settings = make_settings(f"sqlite+aiosqlite:///{small_disk / 'helionyx.db'}")
    container = build_container(settings)
    await upgrade(container.engine(), "dev")
    filler = small_disk / "filler"
    transport = httpx.ASGITransport(app=container.http_app())
    try:
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as http:
            assert (
                await http.post("/api/v1/ingest/message", json={"text": "before"})
            ).status_code == 201
            try:  # take every block that is left (the log's own writes may have taken all)
                with filler.open("wb") as f:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
            except OSError:
                pass
            caplog.set_level(logging.ERROR, logger="helionyx.storage")
            statuses = []
            for n in range(20):
                response = await http.post(
                    "/api/v1/ingest/message", json={"text": f"{n} " + "x" * 8000}
                )
                statuses.append(response.status_code)
                if response.status_code == 503:
                    break
            assert statuses[-1] == 503, statuses
            assert "full" in response.json()["detail"]
            ready = await http.get("/health/ready")
            assert ready.status_code == 503
            assert "full" in ready.json()["checks"]["writes"]
            assert any(
                "writes are failing" in r.getMessage() and "full" in r.getMessage()
                for r in caplog.records
            )
            acknowledged = 1 + statuses.count(201)
            assert (await container.event_log().head()).last_seq == acknowledged

            filler.unlink()
            assert (
                await http.post("/api/v1/ingest/message", json={"text": "after"})
            ).status_code == 201
            assert (await http.get("/health/ready")).status_code == 200
            assert (await container.event_log().head()).last_seq == acknowledged + 1
    finally:
        await close_container(container)
