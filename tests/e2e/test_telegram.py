"""The owner's bot, end to end: the service as a process, real aiogram, a stand-in Bot API."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.bot_api import OWNER, STRANGER, BotApiProcess, bot_environ
from tests.e2e.service import Service

pytestmark = pytest.mark.e2e
WEBHOOK_SECRET = "test-webhook-secret-0123456789"


@pytest.fixture
def bot_api(tmp_path: Path) -> Iterator[BotApiProcess]:
    stub = BotApiProcess(tmp_path)
    try:
        yield stub
    finally:
        stub.close()


@pytest.fixture
def polling_service(
    migrated_sqlite: str, tmp_path: Path, bot_api: BotApiProcess
) -> Iterator[Service]:
    svc = Service(migrated_sqlite, tmp_path / "service.log", **bot_environ(bot_api))
    try:
        yield svc
    finally:
        svc.stop()


def replies_to(bot_api: BotApiProcess, chat_id: int, count: int) -> list[str]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        texts = [m["text"] for m in bot_api.sent() if int(m["chat_id"]) == chat_id]
        if len(texts) >= count:
            return texts
        time.sleep(0.05)
    raise AssertionError(f"expected {count} replies to {chat_id}, got {bot_api.sent()}")


def event_count(service: Service) -> int:
    with service.client() as http:
        return http.get("/api/v1/state").json()["events"]["count"]


def comparable(items: list[dict], *drop: str) -> list[dict]:
    ignored = {"id", "number", "created_at", "updated_at", "decided_at", "source_event_seq", *drop}
    return [{k: v for k, v in item.items() if k not in ignored} for item in items]


def test_the_owner_talks_to_helionyx(polling_service: Service, bot_api: BotApiProcess):
    polling_service.start()
    conversation = [
        "/start",
        "/todo buy milk tomorrow !high #home",
        "/todos",
        "/decide move to Berlin because the job is better",
        "/decisions",
        "just thinking out loud",
    ]
    for n, text in enumerate(conversation, start=1):
        bot_api.queue(text)
        replies = replies_to(bot_api, OWNER, n)
    assert "buy milk" in replies[1] and "1" in replies[1]
    assert "buy milk" in replies[2]
    assert "Berlin" in replies[3] and "Berlin" in replies[4]
    commands = bot_api.read("commands")["result"]
    assert {c["command"] for c in commands} >= {"todo", "todos", "done", "decide", "stats"}

    with polling_service.client() as http:
        telegram_todos = http.get("/api/v1/todos", params={"status": "all"}).json()
        telegram_decisions = http.get("/api/v1/decisions").json()
        for text in conversation[1:4:2]:
            assert http.post("/api/v1/interactions", json={"text": text}).status_code == 200
        todos = http.get("/api/v1/todos", params={"status": "all"}).json()
        decisions = http.get("/api/v1/decisions").json()
        state = http.get("/api/v1/state").json()
    items = lambda body: body["items"] if isinstance(body, dict) else body  # noqa: E731
    assert len(items(todos)) == 2 and len(items(decisions)) == 2
    assert comparable(items(todos))[0] == comparable(items(todos))[1]
    assert comparable(items(decisions))[0] == comparable(items(decisions))[1]
    assert len(items(telegram_todos)) == 1 and len(items(telegram_decisions)) == 1
    assert state["telegram"] == {"mode": "polling", "running": True}


def test_a_stranger_gets_one_refusal_and_nothing_is_stored(
    polling_service: Service, bot_api: BotApiProcess
):
    polling_service.start()
    bot_api.queue("/todo secret plan")
    replies_to(bot_api, OWNER, 1)
    before = event_count(polling_service)
    for text in ("/todos", "/decisions", "todo: steal things", "hello"):
        bot_api.queue(text, chat_id=STRANGER)
    refusals = replies_to(bot_api, STRANGER, 4)
    assert len(set(refusals)) == 1 and "secret plan" not in refusals[0]
    assert event_count(polling_service) == before


def test_a_redelivered_update_has_one_effect(polling_service: Service, bot_api: BotApiProcess):
    bot_api.queue("/todo only once", update_id=5000)
    bot_api.queue("/todo only once", update_id=5000)  # Telegram delivering it again
    polling_service.start()
    replies_to(bot_api, OWNER, 1)
    time.sleep(0.5)
    with polling_service.client() as http:
        todos = http.get("/api/v1/todos").json()
    titles = [t["title"] for t in (todos["items"] if isinstance(todos, dict) else todos)]
    assert titles == ["only once"]
    assert event_count(polling_service) == 2  # the message and the todo


def test_updates_sent_while_down_are_handled_after_start(
    polling_service: Service, bot_api: BotApiProcess
):
    polling_service.start()
    bot_api.queue("/todo before the restart")
    replies_to(bot_api, OWNER, 1)
    assert polling_service.stop() == 0
    for n in range(3):
        bot_api.queue(f"/todo while down {n}")
    polling_service.start()
    replies = replies_to(bot_api, OWNER, 4)
    assert all(f"while down {n}" in "".join(replies) for n in range(3))
    assert event_count(polling_service) == 8
    assert bot_api.read("pending")["result"] == []


def test_sigterm_finishes_the_update_in_hand_and_loses_none(
    polling_service: Service, bot_api: BotApiProcess
):
    polling_service.start()
    for n in range(20):
        bot_api.queue(f"/todo burst {n}")
    replies_to(bot_api, OWNER, 1)
    polling_service.signal(signal.SIGTERM)
    assert polling_service.wait(timeout=15) == 0
    handled = len(bot_api.sent())
    assert event_count_offline(polling_service) == 2 * handled
    polling_service.start()
    replies_to(bot_api, OWNER, 20)
    time.sleep(0.5)
    assert len(bot_api.sent()) == 20
    assert event_count(polling_service) == 40


def event_count_offline(service: Service) -> int:
    from tests.e2e.service import cli

    result = cli(service.database_url, "verify")
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split("intact: ")[1].split(" events")[0])


def test_webhook_mode(migrated_sqlite: str, tmp_path: Path, bot_api: BotApiProcess):
    svc = Service(
        migrated_sqlite,
        tmp_path / "service.log",
        **bot_environ(
            bot_api,
            "webhook",
            TELEGRAM_WEBHOOK_URL="https://helionyx.example/telegram/webhook",
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        ),
    )
    try:
        svc.start()
        deadline = time.monotonic() + 10
        while not bot_api.read("webhook")["result"] and time.monotonic() < deadline:
            time.sleep(0.05)
        webhook = bot_api.read("webhook")["result"]
        assert webhook["url"] == "https://helionyx.example/telegram/webhook"
        assert webhook["secret_token"] == WEBHOOK_SECRET
        url = f"{svc.base_url}/telegram/webhook"
        assert bot_api.deliver("/todo sneaky", url=url, secret="") == 401
        assert bot_api.deliver("/todo sneaky", url=url, secret="wrong-secret-0123456789") == 403
        assert event_count(svc) == 0
        update = {
            "update_id": 777,
            "message": {
                "message_id": 1,
                "date": 1764150000,
                "text": "/todo via webhook",
                "chat": {"id": OWNER, "type": "private"},
                "from": {"id": OWNER, "is_bot": False, "first_name": "Owner"},
            },
        }
        assert bot_api.deliver("", url=url, update=update) == 200
        assert bot_api.deliver("", url=url, update=update) == 200  # a retry
        assert "via webhook" in replies_to(bot_api, OWNER, 1)[0]
        assert event_count(svc) == 2
        with svc.client() as http:
            assert http.get("/api/v1/state").json()["telegram"] == {
                "mode": "webhook",
                "running": True,
            }
    finally:
        assert svc.stop() == 0


def test_webhook_mode_without_a_secret_refuses_to_start(
    migrated_sqlite: str, tmp_path: Path, bot_api: BotApiProcess
):
    svc = Service(
        migrated_sqlite,
        tmp_path / "service.log",
        **bot_environ(
            bot_api, "webhook", TELEGRAM_WEBHOOK_URL="https://helionyx.example/telegram/webhook"
        ),
    )
    svc.start(wait_ready=False)
    assert svc.wait(timeout=20) == 2
    assert "TELEGRAM_WEBHOOK_SECRET" in svc.log()


def test_export_arrives_as_a_markdown_document(polling_service: Service, bot_api: BotApiProcess):
    polling_service.start()
    bot_api.queue("/todo pay rent friday #home")
    bot_api.queue("/decide use SQLite because one user")
    bot_api.queue("/export")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        documents = [m for m in bot_api.sent() if m.get("document")]
        if documents:
            break
        time.sleep(0.05)
    [document] = documents
    assert int(document["chat_id"]) == OWNER
    assert document["document"].startswith("helionyx-") and document["document"].endswith(".md")
    assert "pay rent" in document["content"] and "use SQLite" in document["content"]
    assert "helionyx-" in document["caption"]
    commands = {c["command"] for c in bot_api.read("commands")["result"]}
    assert {"edit", "undo", "checkin", "supersede", "today", "export"} <= commands
