"""Audit lines and the bearer lockout, with the real app in-process (and, for start, stop
and the operator commands' lines, the service and the CLI as processes).

An address that fails the bearer check 10 times within 60 s gets 429 for 60 s, a correct
token included; others are served as before. Failures anyone can repeat are audited
quietly (a line per address a minute); no line holds a presented token or a secret.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.cli.backup import cmd_backup, cmd_restore
from app.cli.main import parser
from app.cli.verify import cmd_accept_log
from app.container import Container, build_container, close_container
from app.logging_setup import JsonFormatter, _ContextFilter
from app.settings import Settings
from infrastructure.migrate import upgrade
from tests.conftest import API_TOKEN, make_settings
from tests.e2e.service import Service, cli
from tests.support import tamper
from tests.support.bot_api_stub import DEFAULT_TOKEN, BotApiStub

GUESS = "guess-7f3a9c-not-the-token"
ATTACKER, OTHER = "203.0.113.7", "198.51.100.2"
OWNER, STRANGER = 4242, 777001
WEBHOOK_SECRET = "webhook-secret-0123456789"
PROBLEM = "application/problem+json"


def http(container: Container, address: str, token: str | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=container.http_app(), client=(address, 40000))
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)


async def open_container(settings: Settings) -> Container:
    container = build_container(settings)
    await upgrade(container.engine(), settings.tier)
    return container


@pytest.fixture
async def container(sqlite_url: str) -> AsyncIterator[Container]:
    container = await open_container(make_settings(sqlite_url))
    try:
        yield container
    finally:
        await close_container(container)


@pytest.fixture
def audit_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="helionyx.audit")
    return caplog


def lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "helionyx.audit"]


def of(caplog: pytest.LogCaptureFixture, action: str) -> list[logging.LogRecord]:
    return [r for r in lines(caplog) if r.audit["action"] == action]


def as_json(record: logging.LogRecord) -> str:
    """The line as staging and live write it, with no secret masked: what the masking
    would hide must not be there in the first place."""
    _ContextFilter("live").filter(record)
    return JsonFormatter(secrets=()).format(record)


async def test_ten_wrong_tokens_lock_the_address_out_and_no_one_else(container):
    async with http(container, ATTACKER, GUESS) as attacker, http(container, OTHER, GUESS) as other:
        for _ in range(10):
            assert (await attacker.get("/api/v1/state")).status_code == 401
        locked = await attacker.get("/api/v1/state")
        assert locked.status_code == 429
        assert locked.headers["content-type"] == PROBLEM
        assert locked.json()["title"] == "Too many requests"
        assert 1 <= int(locked.headers["retry-after"]) <= 60
        # The right token from the locked-out address: still 429, its token not compared.
        right = await attacker.get(
            "/api/v1/state", headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        assert right.status_code == 429
        assert (await other.get("/api/v1/state")).status_code == 401
        served = await other.get("/api/v1/state", headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert served.status_code == 200


async def test_failed_authentication_is_audited_without_any_token(container, audit_log):
    async with http(container, ATTACKER, GUESS) as attacker:
        await attacker.get("/api/v1/state", headers={"X-Request-ID": "probe-1"})
        await attacker.get("/api/v1/events", headers={"Authorization": ""})
    [line] = of(audit_log, "auth.failed")
    assert line.audit == {
        "action": "auth.failed",
        "outcome": "refused",
        "client": ATTACKER,
        "path": "/api/v1/state",
        "reason": "wrong token",
        "request_id": "probe-1",
    }
    assert "client=203.0.113.7" in line.getMessage()
    for record in lines(audit_log):
        assert GUESS not in as_json(record) and API_TOKEN not in as_json(record)


async def test_a_hundred_failures_make_only_a_few_lines(container, audit_log):
    async with http(container, ATTACKER, GUESS) as attacker:
        statuses = [(await attacker.get("/api/v1/state")).status_code for _ in range(100)]
    assert statuses.count(401) == 10 and statuses.count(429) == 90
    assert [r.audit["action"] for r in lines(audit_log)] == [
        "auth.failed",
        "auth.locked_out",
        "auth.throttled",
    ]
    [locked] = of(audit_log, "auth.locked_out")
    assert (locked.audit["failures"], locked.audit["lockout_s"]) == (10, 60)


async def test_without_a_lockout_a_hundred_failures_are_one_line(sqlite_url, audit_log):
    container = await open_container(make_settings(sqlite_url, HELIONYX_AUTH_MAX_FAILURES="1000"))
    try:
        async with http(container, ATTACKER, GUESS) as attacker:
            for _ in range(100):
                assert (await attacker.get("/api/v1/state")).status_code == 401
        assert len(lines(audit_log)) == 1
    finally:
        await close_container(container)


async def test_many_addresses_keep_the_throttle_at_its_cap(sqlite_url):
    settings = make_settings(sqlite_url)
    settings = settings.model_copy(
        update={"api": settings.api.model_copy(update={"tracked_addresses": 50})}
    )
    container = await open_container(settings)
    try:
        for n in range(300):
            async with http(container, f"10.9.{n // 256}.{n % 256}", GUESS) as client:
                assert (await client.get("/api/v1/state")).status_code == 401
        assert len(container.auth_throttle()) == 50
        assert len(container.quiet_audit()) == 50
    finally:
        await close_container(container)


async def test_metrics_outside_dev_sit_behind_the_same_lockout(postgres_url):
    container = await open_container(make_settings(postgres_url, tier="staging"))
    try:
        async with http(container, ATTACKER, GUESS) as attacker:
            for _ in range(10):
                assert (await attacker.get("/metrics")).status_code == 401
            assert (await attacker.get("/metrics")).status_code == 429
            assert (await attacker.get("/api/v1/state")).status_code == 429
    finally:
        await close_container(container)


async def open_webhook(sqlite_url: str, api_base: str) -> Container:
    return await open_container(
        make_settings(
            sqlite_url,
            TELEGRAM_MODE="webhook",
            TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
            TELEGRAM_OWNER_CHAT_ID=str(OWNER),
            TELEGRAM_API_BASE=api_base,
            TELEGRAM_WEBHOOK_URL="https://helionyx.example/telegram/webhook",
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            HELIONYX_NOTIFICATIONS="false",
        )
    )


async def test_wrong_webhook_secrets_are_audited_quietly(sqlite_url, audit_log):
    container = await open_webhook(sqlite_url, "http://127.0.0.1:9")
    try:
        async with http(container, ATTACKER) as poser, http(container, OTHER) as bare:
            for _ in range(5):
                response = await poser.post(
                    "/telegram/webhook",
                    json={"update_id": 1},
                    headers={"X-Telegram-Bot-Api-Secret-Token": GUESS},
                )
                assert response.status_code == 403
            assert (await bare.post("/telegram/webhook", json={})).status_code == 401
        refused = of(audit_log, "webhook.secret_wrong")
        assert [(r.audit["client"], r.audit["reason"]) for r in refused] == [
            (ATTACKER, "wrong secret"),
            (OTHER, "no secret header"),
        ]
        for record in refused:
            assert GUESS not in as_json(record) and WEBHOOK_SECRET not in as_json(record)
    finally:
        await close_container(container)


async def test_strangers_are_audited_quietly_and_still_refused(sqlite_url, audit_log):
    async with BotApiStub(token=DEFAULT_TOKEN) as stub:
        container = await open_webhook(sqlite_url, stub.base_url)
        try:
            async with http(container, "127.0.0.1") as telegram:
                telegram.headers["X-Telegram-Bot-Api-Secret-Token"] = WEBHOOK_SECRET
                for n in range(3):
                    update = stub.make_text_update(STRANGER, f"hello {n}")
                    assert (
                        await telegram.post("/telegram/webhook", json=update)
                    ).status_code == 200
            assert len(stub.sent_messages) == 3  # each one refused, as before
            [line] = of(audit_log, "telegram.stranger")
            assert (line.audit["chat_id"], line.audit["user_id"]) == (STRANGER, STRANGER)
            assert "hello" not in as_json(line)
            assert (await container.event_log().head()).last_seq == 0
        finally:
            await close_container(container)


async def test_backups_restores_and_acceptances_are_audited(sqlite_url, tmp_path, audit_log):
    settings = make_settings(sqlite_url)
    container = await open_container(settings)
    try:
        async with http(container, "127.0.0.1", API_TOKEN) as owner:
            for n in range(4):
                await owner.post("/api/v1/ingest/message", json={"text": f"m{n}"})
        args = parser().parse_args(["backup", "--dir", str(tmp_path / "backups")])
        assert await cmd_backup(container, settings, args) == 0
        [written] = of(audit_log, "backup.written")
        [manifest] = (tmp_path / "backups").glob("*.manifest.json")
        backup_file = Path(str(manifest).removesuffix(".manifest.json"))
        assert (written.audit["file"], written.audit["events"]) == (backup_file.name, 4)

        restore = parser().parse_args(["restore", str(backup_file)])
        assert await cmd_restore(container, settings, restore) == 1
        [refused] = of(audit_log, "restore.refused")
        assert refused.audit["file"] == backup_file.name
        await container.engine().dispose()
        restore = parser().parse_args(["restore", str(backup_file), "--yes-overwrite"])
        assert await cmd_restore(container, settings, restore) == 0
        [done] = of(audit_log, "restore.done")
        assert (done.audit["events"], done.audit["seq"]) == (4, 4)

        await container.integrity().write_digest("shutdown", force=True)
        await tamper.truncate_tail(container.engine(), 2)
        accept = parser().parse_args(
            ["accept-log", "--yes", "--reason", "lost the tail in a crash"]
        )
        assert await cmd_accept_log(container, settings, accept) == 0
        [accepted] = of(audit_log, "integrity.accepted")
        assert accepted.audit["reason"] == "lost the tail in a crash"
        assert accepted.audit["seq"] == 2
    finally:
        await close_container(container)


def test_the_service_and_the_commands_write_their_lines(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
    assert cli(url, "migrate").returncode == 0
    service = Service(url, tmp_path / "service.log")
    service.start()
    try:
        wrong = httpx.get(
            f"{service.base_url}/api/v1/state", headers={"Authorization": f"Bearer {GUESS}"}
        )
        assert wrong.status_code == 401
    finally:
        assert service.stop() == 0
    log = service.log()
    assert "helionyx.audit [dev] service.started done tier=dev" in log
    assert "auth.failed refused client=127.0.0.1" in log
    assert "helionyx.audit [dev] service.stopped done tier=dev exit_status=0" in log
    assert GUESS not in log and API_TOKEN not in log

    backup = cli(
        url, "backup", "--dir", str(tmp_path / "backups"), tier="dev", HELIONYX_LOG_LEVEL="ERROR"
    )  # audit lines are written whatever the level
    assert backup.returncode == 0, backup.stderr
    assert "helionyx.audit [dev] backup.written done tier=dev" in backup.stderr


def test_json_audit_lines_parse_with_their_fields():
    record = logging.LogRecord(
        "helionyx.audit", logging.INFO, __file__, 1, "%s", ("auth.failed refused",), None
    )
    record.audit = {"action": "auth.failed", "outcome": "refused", "client": ATTACKER}
    entry = json.loads(as_json(record))
    assert (entry["action"], entry["client"], entry["tier"]) == ("auth.failed", ATTACKER, "live")
