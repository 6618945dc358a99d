"""The Bot API stub, checked against the real aiogram client."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramConflictError, TelegramUnauthorizedError
from aiogram.types import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.support.bot_api_stub import BotApiStub

# Obviously fake, but shaped like a real token: digits, a colon, 35 characters.
TOKEN = "123456:TEST-ONLY-fake-token-for-bot-api-xx"
WRONG_TOKEN = "654321:TEST-ONLY-this-is-the-wrong-token"
REPO_ROOT = Path(__file__).resolve().parents[2]


def make_bot(stub: BotApiStub, token: str = TOKEN) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(stub.base_url))
    return Bot(token, session=session)


def read_if_written(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


async def wait_for_file(path: Path, seconds: float = 10.0) -> str:
    async with asyncio.timeout(seconds):
        # Another process writes it, so there is no event to await; polling is the only way.
        while (text := read_if_written(path)) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    return text


@pytest.fixture
async def stub() -> AsyncIterator[BotApiStub]:
    async with BotApiStub(token=TOKEN, first_update_id=100) as server:
        yield server


@pytest.fixture
async def bot(stub: BotApiStub) -> AsyncIterator[Bot]:
    client = make_bot(stub)
    yield client
    await client.session.close()


async def test_get_me_returns_the_bot(bot: Bot) -> None:
    me = await bot.get_me()

    assert (me.id, me.is_bot, me.first_name) == (123456, True, "Helionyx Test")
    assert me.username == "helionyx_test_bot"


async def test_a_wrong_token_is_unauthorized(stub: BotApiStub) -> None:
    intruder = make_bot(stub, WRONG_TOKEN)
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await intruder.get_me()
    finally:
        await intruder.session.close()
    assert stub.calls[-1]["status"] == 401


async def test_an_update_is_returned_until_an_offset_confirms_it(
    stub: BotApiStub, bot: Bot
) -> None:
    update_id = stub.queue_text(chat_id=42, text="hello")

    first = await bot.get_updates(offset=0, timeout=1)
    again = await bot.get_updates(offset=update_id, timeout=0)

    assert update_id == 100
    assert [u.update_id for u in first] == [u.update_id for u in again] == [update_id]
    message = first[0].message
    assert message is not None and message.text == "hello"
    assert message.chat.id == 42 and message.from_user is not None
    assert stub.confirmed_offset == update_id  # seen twice, not yet confirmed

    assert await bot.get_updates(offset=update_id + 1, timeout=0) == []
    assert stub.confirmed_offset == update_id + 1
    assert stub.pending == []


async def test_a_long_poll_returns_as_soon_as_an_update_is_queued(
    stub: BotApiStub, bot: Bot
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(offset=1, timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()

    update_id = stub.queue_text(chat_id=7, text="wake up")
    updates = await asyncio.wait_for(poll, 2)

    assert [u.update_id for u in updates] == [update_id]
    assert loop.time() - started < 2


async def test_an_empty_long_poll_waits_for_its_timeout(bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    assert await bot.get_updates(timeout=1) == []
    assert 0.9 < loop.time() - started < 3


async def test_closing_the_server_releases_long_polls() -> None:
    server = await BotApiStub(token=TOKEN).start()
    client = make_bot(server)
    try:
        poll = asyncio.create_task(client.get_updates(timeout=30))
        await asyncio.sleep(0.2)
        await asyncio.wait_for(server.close(), 3)
        assert await asyncio.wait_for(poll, 3) == []
    finally:
        await client.session.close()


async def test_send_message_is_recorded_and_returns_a_message(stub: BotApiStub, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Done", callback_data="done:1")]]
    )

    first = await bot.send_message(42, "<b>hi</b>", parse_mode="HTML", reply_markup=keyboard)
    second = await bot.send_message(42, "again")

    assert isinstance(first, Message)
    assert first.text == "<b>hi</b>" and first.chat.id == 42
    assert first.from_user is not None and first.from_user.id == bot.id
    assert first.reply_markup is not None
    assert first.reply_markup.model_dump() == keyboard.model_dump()
    assert second.message_id > first.message_id
    recorded = stub.sent_messages[0]
    assert (recorded["chat_id"], recorded["text"], recorded["parse_mode"]) == (
        42,
        "<b>hi</b>",
        "HTML",
    )
    assert recorded["reply_markup"] == {
        "inline_keyboard": [[{"text": "Done", "callback_data": "done:1"}]]
    }
    assert [m["text"] for m in await stub.wait_for_messages(2)] == ["<b>hi</b>", "again"]


async def test_webhook_and_commands_are_recorded(stub: BotApiStub, bot: Bot) -> None:
    stub.queue_text(chat_id=42, text="stale")

    await bot.set_webhook(
        "https://helionyx.test/hook",
        secret_token="s3cret",
        allowed_updates=["message", "callback_query"],
        drop_pending_updates=True,
    )
    info = await bot.get_webhook_info()
    with pytest.raises(TelegramConflictError):
        await bot.get_updates(timeout=0)
    await bot.delete_webhook(drop_pending_updates=True)
    await bot.set_my_commands([BotCommand(command="todo", description="Add a todo")])
    listed = await bot.get_my_commands()

    assert stub.pending == []
    assert (info.url, info.allowed_updates) == (
        "https://helionyx.test/hook",
        ["message", "callback_query"],
    )
    assert stub.webhook is None
    assert stub.commands == [{"command": "todo", "description": "Add a todo"}]
    assert [c.command for c in listed] == ["todo"]
    webhook_call = next(c for c in stub.calls if c["method"] == "setWebhook")
    assert webhook_call["params"]["secret_token"] == "s3cret"
    assert webhook_call["params"]["drop_pending_updates"] is True
    await bot.delete_my_commands()
    assert stub.commands == []


async def test_a_dispatcher_polls_the_stub_and_its_reply_is_recorded(
    stub: BotApiStub, bot: Bot
) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    update_id = stub.queue_text(chat_id=42, text="ping")
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1)
    )
    try:
        sent = await stub.wait_for_messages(1)
        await stub.wait_until(lambda: stub.confirmed_offset > update_id)
    finally:
        await asyncio.wait_for(dispatcher.stop_polling(), 5)
        await asyncio.wait_for(polling, 5)

    assert (sent[0]["chat_id"], sent[0]["text"]) == (42, "echo: ping")
    assert stub.pending == []


async def test_webhook_delivery_reaches_an_aiogram_webhook_handler(
    stub: BotApiStub, bot: Bot
) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(f"got {message.text}")

    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, secret_token="s3cret").register(app, path="/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        await bot.set_webhook(hook_url, secret_token="s3cret")
        forged = await stub.deliver_webhook(stub.make_text_update(42, "x"), secret="wrong")
        delivered = await stub.deliver_webhook(stub.make_text_update(42, "direct"))
        async with httpx.AsyncClient(base_url=stub.base_url) as control:
            response = await control.post("/_control/deliver", json={"chat_id": 42, "text": "http"})
        sent = await stub.wait_for_messages(2)
    finally:
        await runner.cleanup()

    assert (forged, delivered) == (401, 200)
    assert response.json()["result"]["status"] == 200
    assert sorted(m["text"] for m in sent) == ["got direct", "got http"]


async def test_runs_as_a_separate_process_driven_over_http(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "tests.support.bot_api_stub", "--port", "0", "--token", TOKEN),
        *("--port-file", str(port_file)),
        cwd=REPO_ROOT,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        base_url = f"http://127.0.0.1:{int(await wait_for_file(port_file))}"
        client = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
        async with httpx.AsyncClient(base_url=base_url) as control:
            queued = await control.post("/_control/updates", json={"chat_id": 5, "text": "hi"})
            update_id = queued.json()["result"]["update_id"]
            pending = (await control.get("/_control/pending")).json()["result"]

            updates = await client.get_updates(offset=update_id + 1, timeout=0)
            await client.send_message(5, "hello back")
            await client.session.close()

            sent = await control.get("/_control/sent", params={"wait_for": 1, "timeout": 2})
            too_few = await control.get("/_control/sent", params={"wait_for": 2, "timeout": 0.1})
            confirmed = (await control.get("/_control/pending")).json()
            calls = (await control.get("/_control/calls")).json()["result"]

        process.send_signal(signal.SIGTERM)
        return_code = await asyncio.wait_for(process.wait(), 5)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert [u["update_id"] for u in pending] == [update_id]
    assert updates == []
    assert confirmed == {"ok": True, "result": [], "confirmed_offset": update_id + 1}
    assert sent.json()["result"][0]["text"] == "hello back"
    assert too_few.status_code == 408 and len(too_few.json()["result"]) == 1
    assert [c["method"] for c in calls] == ["getUpdates", "sendMessage"]
    assert return_code == 0, await process.stderr.read() if process.stderr else b""
