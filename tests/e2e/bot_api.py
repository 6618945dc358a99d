"""The stand-in Bot API server as its own process, driven over its control routes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from app.config import PROJECT_ROOT
from tests.support.bot_api_stub import DEFAULT_TOKEN

OWNER = 4242
STRANGER = 9999


class BotApiProcess:
    def __init__(self, tmp_path: Path, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self._port_file = tmp_path / "bot-api.port"
        self._log = (tmp_path / "bot-api.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.bot_api_stub",
                "--port",
                "0",
                "--token",
                token,
                "--port-file",
                str(self._port_file),
                "--first-update-id",
                "1000",
            ],
            cwd=PROJECT_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while not self._port_file.exists():
            assert time.monotonic() < deadline and self.process.poll() is None, "stub not up"
            time.sleep(0.05)
        self.base_url = f"http://127.0.0.1:{self._port_file.read_text().strip()}"
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    def close(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(10)
        self._log.close()

    def queue(self, text: str, chat_id: int = OWNER, update_id: int | None = None) -> int:
        body: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if update_id is not None:
            body["update_id"] = update_id
        return self._post("/_control/updates", body)["update_id"]

    def sent(self, wait_for: int = 0, timeout: float = 15) -> list[dict[str, Any]]:
        response = self.http.get(
            "/_control/sent", params={"wait_for": wait_for, "timeout": timeout}
        )
        assert response.status_code == 200, f"replies missing: {response.json()}"
        return response.json()["result"]

    def read(self, name: str) -> Any:
        return self.http.get(f"/_control/{name}").json()

    def deliver(
        self,
        text: str,
        *,
        url: str,
        secret: str | None = None,
        chat_id: int = OWNER,
        update: dict | None = None,
    ) -> int:
        body: dict[str, Any] = {"url": url}
        body.update({"update": update} if update else {"chat_id": chat_id, "text": text})
        if secret is not None:
            body["secret"] = secret
        return self._post("/_control/deliver", body)["status"]

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.http.post(path, json=body)
        response.raise_for_status()
        return response.json()["result"]


def bot_environ(bot_api: BotApiProcess, mode: str = "polling", **extra: str) -> dict[str, str]:
    """The bot pointed at the stand-in; pushed notifications off unless a test turns them on."""
    return {
        "TELEGRAM_MODE": mode,
        "TELEGRAM_BOT_TOKEN": bot_api.token,
        "HELIONYX_NOTIFICATIONS": "false",
        "TELEGRAM_OWNER_CHAT_ID": str(OWNER),
        "TELEGRAM_API_BASE": bot_api.base_url,
        **extra,
    }
