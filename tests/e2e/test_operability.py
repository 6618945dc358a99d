"""Operating the real process: JSON logs without secrets, `status`, and /metrics."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from app.config import PROJECT_ROOT
from tests.e2e.bot_api import OWNER, STRANGER, BotApiProcess, bot_environ
from tests.e2e.service import Service, cli, free_port

pytestmark = pytest.mark.e2e


def metric(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def row(output: str, name: str) -> str:
    """The value of one row of the status table."""
    found = re.search(rf"│ {re.escape(name)}\s+│ (.*?)\s*│", output)
    assert found, f"no {name!r} row in:\n{output}"
    return found.group(1)


def test_status_and_metrics_with_the_service_up_then_down(service: Service):
    service.start()
    with service.client() as http:
        for n in range(3):
            assert http.post("/api/v1/ingest/message", json={"text": f"m{n}"}).status_code == 201
        head = http.get("/api/v1/state").json()["events"]
        assert http.get("/api/v1/events/2").status_code == 200
    scraped = httpx.get(f"{service.base_url}/metrics", timeout=10)  # open in dev
    assert scraped.status_code == 200
    text = scraped.text
    assert (
        metric(
            text,
            "helionyx_http_requests_total",
            method="POST",
            route="/api/v1/ingest/message",
            status="201",
        )
        == 3
    )
    assert (
        metric(
            text,
            "helionyx_http_requests_total",
            method="GET",
            route="/api/v1/events/{seq}",
            status="200",
        )
        == 1
    )
    assert metric(text, "helionyx_events_appended_total", type="message.ingested") == 3
    assert metric(text, "helionyx_event_head_seq") == 3
    assert "/api/v1/events/2" not in text

    run_file = PROJECT_ROOT / "var" / "dev" / f"helionyx-{service.port}.pid"
    assert json.loads(run_file.read_text())["pid"] == service.process.pid
    up = cli(service.database_url, "status", HELIONYX_PORT=str(service.port))
    assert up.returncode == 0, up.stdout + up.stderr
    assert row(up.stdout, "service").startswith(
        f"running, pid {service.process.pid}, port {service.port}"
    )
    assert row(up.stdout, "readiness") == "ready"
    assert row(up.stdout, "events") == "3"
    assert row(up.stdout, "head hash") == head["last_hash"]
    assert row(up.stdout, "telegram") == "off"

    assert service.stop() == 0
    assert not run_file.exists()
    down = cli(service.database_url, "status", HELIONYX_PORT=str(service.port))
    assert down.returncode == 0, down.stdout + down.stderr
    assert row(down.stdout, "service").startswith("not running")
    assert row(down.stdout, "events") == "3"
    assert row(down.stdout, "head hash") == head["last_hash"]
    assert row(down.stdout, "schema").endswith("(head)")


def test_status_fails_only_when_the_database_cannot_be_read(tmp_path: Path):
    result = cli(
        f"sqlite+aiosqlite:///{tmp_path / 'absent.db'}", "status", HELIONYX_PORT=str(free_port())
    )
    assert result.returncode == 3
    assert "not running" in result.stdout and "cannot be read" in result.stderr
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.parametrize("command", [["verify"], ["rebuild"], ["import-chatgpt", "x.json"]])
def test_a_command_on_a_missing_database_neither_creates_it_nor_fails_on_it(
    tmp_path: Path, command: list[str]
):
    absent = tmp_path / "absent" / "helionyx.db"
    result = cli(f"sqlite+aiosqlite:///{absent}", *command)
    assert result.returncode == 3, result.stderr
    assert f"no database file at {absent}: run `make migrate ENV=dev`" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not absent.exists()


@pytest.mark.parametrize("command", [["rebuild"], ["import-chatgpt", "x.json"]])
def test_a_command_on_an_unmigrated_database_says_to_migrate(tmp_path: Path, command: list[str]):
    empty = tmp_path / "helionyx.db"
    empty.touch()
    result = cli(f"sqlite+aiosqlite:///{empty}", *command)
    assert result.returncode == 3, result.stderr
    assert "has no schema: run `make migrate ENV=dev`" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    with sqlite3.connect(empty) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_verify_on_an_unmigrated_database_gives_no_verdict(tmp_path: Path):
    """Verify only reads: it does not ask for the head revision, and says what it found."""
    empty = tmp_path / "helionyx.db"
    empty.touch()
    result = cli(f"sqlite+aiosqlite:///{empty}", "verify")
    assert result.returncode == 2, result.stderr
    assert "no verdict" in result.stderr and "no such table: events" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


SECRETS = {
    "HELIONYX_API_TOKEN": "staging-api-token-s3cr3t-0001",
    "TELEGRAM_BOT_TOKEN": "123456789:SECRETbotTOKEN-s3cr3t-0002",
    "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-s3cr3t-0003",
    "HELIONYX_LLM_API_KEY": "sk-llm-key-s3cr3t-0004",
}
DB_PASSWORD = "secret-db-pw-0005"  # trust auth on the test server ignores it


@pytest.mark.postgres
def test_staging_logs_json_lines_and_never_a_secret(postgres_url: str, tmp_path: Path):
    url = make_url(postgres_url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    token = SECRETS["HELIONYX_API_TOKEN"]
    migrated = cli(url, "migrate", tier="staging", HELIONYX_API_TOKEN=token)
    assert migrated.returncode == 0, migrated.stderr
    bot_api = BotApiProcess(tmp_path, token=SECRETS["TELEGRAM_BOT_TOKEN"])
    environ = bot_environ(
        bot_api,
        "webhook",
        TELEGRAM_WEBHOOK_URL="https://helionyx.example/telegram/webhook",
        HELIONYX_LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",  # nothing listens
        HELIONYX_LLM_MODEL="test-model",
        **SECRETS,
    )
    svc = Service(url, tmp_path / "service.log", tier="staging", **environ)
    try:
        svc.start()
        exercise(svc, bot_api, token)
        assert svc.stop() == 0
    finally:
        svc.stop()
        bot_api.close()

    log = svc.log()
    for name, secret in [*SECRETS.items(), ("database password", DB_PASSWORD)]:
        assert secret not in log, f"{name} was logged"
    entries = [json.loads(line) for line in log.splitlines()]  # every line is JSON
    assert all({"time", "level", "logger", "tier", "message"} <= set(e) for e in entries)
    assert {e["tier"] for e in entries} == {"staging"}
    access = [e for e in entries if e["logger"] == "helionyx.access"]
    assert access and all("request_id" in e for e in access)
    assert any(e["message"].startswith("POST /api/v1/ingest/message 201 ") for e in access)
    assert any(e["message"].startswith("GET /api/v1/state 401 ") for e in access)
    audit = [e for e in entries if e["logger"] == "helionyx.audit"]
    refused = [e for e in audit if e["action"] == "telegram.stranger"]
    assert refused and "update_id" in refused[0] and "request_id" in refused[0]
    assert refused[0]["user_id"] == STRANGER
    [failed] = [e for e in audit if e["action"] == "auth.failed"]  # /metrics: within its minute
    assert (failed["client"], failed["reason"]) == ("127.0.0.1", "wrong token")
    assert "wrong-token-0123456789" not in log
    assert [e["action"] for e in audit if e["action"].startswith("service.")] == [
        "service.started",
        "service.stopped",
    ]
    assert any("falling back to rules" in e["message"] for e in entries)
    assert "shutdown complete" in entries[-1]["message"]


def exercise(svc: Service, bot_api: BotApiProcess, token: str) -> None:
    deadline = time.monotonic() + 15
    while not bot_api.read("webhook")["result"] and time.monotonic() < deadline:
        time.sleep(0.05)
    owner = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=svc.base_url, timeout=30) as http:
        free_text = {"text": "thinking about repainting the garden shed"}  # the LLM fails
        assert http.post("/api/v1/ingest/message", json=free_text, headers=owner).status_code == 201
        wrong = {"Authorization": "Bearer wrong-token-0123456789"}
        assert http.get("/api/v1/state", headers=wrong).status_code == 401
        url = f"{svc.base_url}/telegram/webhook"
        assert bot_api.deliver("/todo via webhook", url=url) == 200
        assert bot_api.deliver("let me in", url=url, chat_id=STRANGER) == 200
        assert http.get("/metrics").status_code == 401
        scraped = http.get("/metrics", headers=owner)
    assert scraped.status_code == 200
    assert metric(scraped.text, "helionyx_telegram_updates_total", outcome="handled") == 1
    assert metric(scraped.text, "helionyx_telegram_updates_total", outcome="refused") == 1
    assert metric(scraped.text, "helionyx_events_appended_total", type="todo.created") == 1
    assert [m for m in bot_api.sent() if int(m["chat_id"]) == OWNER]
