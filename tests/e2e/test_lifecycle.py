"""The service as a real process: health, graceful stop under load, crash, restart, verify."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import API_TOKEN, MAKE_IN_CHECKOUT
from tests.e2e.service import Service, cli

pytestmark = pytest.mark.e2e


def test_health_and_readiness(service: Service):
    started = service.start()
    assert httpx.get(f"{service.base_url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{service.base_url}/health/ready").status_code == 200
    assert started < 15
    log = service.log()
    for step in ("starting: tier dev", "container built", "database ok", "serving on"):
        assert step in log


class Load:
    """Writers posting messages until told to stop; remembers what was acknowledged."""

    def __init__(self, base_url: str, writers: int = 8) -> None:
        self.base_url = base_url
        self.acked: dict[str, int] = {}
        self.refused = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._write, args=(n,), daemon=True) for n in range(writers)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.acked) >= count, f"only {len(self.acked)} acknowledged"

    def _write(self, writer: int) -> None:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=10) as http:
            n = 0
            while not self._stop.is_set():
                source_id = f"w{writer}-{n}"
                n += 1
                try:
                    response = http.post(
                        "/api/v1/ingest/message",
                        json={
                            "text": f"load message {source_id}",
                            "source": "load",
                            "source_id": source_id,
                        },
                    )
                except httpx.HTTPError:
                    with self._lock:
                        self.refused += 1
                    time.sleep(0.01)
                    continue
                if response.status_code in (200, 201):
                    with self._lock:
                        self.acked[source_id] = response.json()["seq"]
                else:
                    with self._lock:
                        self.refused += 1


def recorded_source_ids(service: Service) -> dict[str, int]:
    found: dict[str, int] = {}
    after: int | None = 0
    with service.client() as http:
        while after is not None:
            page = http.get("/api/v1/events", params={"after_seq": after, "limit": 1000}).json()
            for item in page["items"]:
                found[item["payload"]["source_id"]] = item["seq"]
            after = page["next_after_seq"]
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_graceful_stop_under_load_loses_nothing(service: Service, sig: signal.Signals):
    service.start()
    with Load(service.base_url) as load:
        load.wait_for(100)
        stopped_at = time.monotonic()
        service.signal(sig)
        code = service.wait(timeout=15)
        took = time.monotonic() - stopped_at
    assert code == 0, service.log()
    assert took < 10 + 2, f"took {took:.1f}s to exit"
    assert "shutdown complete" in service.log()

    service.start()
    recorded = recorded_source_ids(service)
    missing = set(load.acked) - set(recorded)
    assert not missing, f"{len(missing)} acknowledged messages lost"
    assert all(recorded[key] == seq for key, seq in load.acked.items())
    assert cli(service.database_url, "verify").returncode == 0


def test_a_killed_service_loses_nothing_it_acknowledged(service: Service):
    service.start()
    with Load(service.base_url) as load:
        load.wait_for(150)
        service.signal(signal.SIGKILL)
        service.wait(timeout=10)
    service.start()
    recorded = recorded_source_ids(service)
    assert not set(load.acked) - set(recorded)
    result = cli(service.database_url, "verify")
    assert result.returncode == 0, result.stderr
    assert f"{len(recorded)} events" in result.stdout


def test_verify_names_the_first_altered_seq(service: Service, tmp_path: Path):
    service.start()
    with service.client() as http:
        for i in range(5):
            assert http.post("/api/v1/ingest/message", json={"text": f"m{i}"}).status_code == 201
    assert service.stop() == 0
    assert cli(service.database_url, "verify").returncode == 0

    original = Path(service.database_url.split("///", 1)[1])
    copy = tmp_path / "tampered.db"
    shutil.copy(original, copy)
    with sqlite3.connect(copy) as db:
        db.execute("DROP TRIGGER events_reject_update")
        db.execute("""UPDATE events SET payload = json_set(payload, '$.text', 'forged')
                      WHERE seq = 3""")
    result = cli(f"sqlite+aiosqlite:///{copy}", "verify")
    assert result.returncode == 1
    assert "seq 3" in result.stderr
    assert cli(service.database_url, "verify").returncode == 0


def test_refuses_to_start_on_an_unmigrated_database(tmp_path: Path):
    svc = Service(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", tmp_path / "log")
    svc.start(wait_ready=False)
    assert svc.wait(timeout=20) == 3
    assert "make migrate" in svc.log()


@pytest.mark.postgres
def test_refuses_to_serve_another_tiers_database(postgres_url: str, tmp_path: Path):
    assert cli(postgres_url, "migrate").returncode == 0  # recorded as dev
    svc = Service(postgres_url, tmp_path / "log", tier="staging")
    svc.start(wait_ready=False)
    assert svc.wait(timeout=20) == 3
    assert "belongs to the dev tier, not staging" in svc.log()
    result = cli(postgres_url, "migrate", tier="staging")
    assert result.returncode == 3 and "belongs to the dev tier" in result.stderr


@MAKE_IN_CHECKOUT
def test_make_run_serves_and_stops_with_status_zero(migrated_sqlite: str, tmp_path: Path):
    """What a new user types. make stays the parent; the service is its child."""
    svc = Service(
        migrated_sqlite,
        tmp_path / "log",
        command=["make", "--no-print-directory", "run", "ENV=dev"],
    )
    svc.start(timeout=120)
    children = subprocess.run(
        ["pgrep", "-P", str(svc.process.pid)], capture_output=True, text=True
    ).stdout.split()
    assert len(children) == 1, children
    subprocess.run(["kill", "-TERM", children[0]], check=True)
    assert svc.wait(timeout=15) == 0, svc.log()
    assert "shutdown complete" in svc.log()
