"""The service as a real process: started like a user starts it, stopped by signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.config import PROJECT_ROOT
from tests.conftest import API_TOKEN, digest_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_environ(database_url: str, port: int | None = None, **extra: str) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HELIONYX_", "TELEGRAM_")) and k != "ENV"
    }
    if port is not None:
        base["HELIONYX_PORT"] = str(port)
    return {
        **base,
        "HELIONYX_DATABASE_URL": database_url,
        "HELIONYX_API_TOKEN": API_TOKEN,
        "TELEGRAM_MODE": "off",
        "HELIONYX_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        "HELIONYX_DIGEST_DIR": str(digest_dir()),
        **extra,
    }


def cli(
    database_url: str, *args: str, tier: str = "dev", **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--env", tier, *args],
        cwd=PROJECT_ROOT,
        env=service_environ(database_url, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


class Service:
    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        tier: str = "dev",
        command: list[str] | None = None,
        **extra: str,
    ) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.log_path = log_path
        self.tier = tier
        self.command = command or [sys.executable, "-m", "app.main", "--env", tier]
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start(self, *, wait_ready: bool = True, timeout: float = 30.0) -> float:
        """Start the process; returns the seconds it took to answer /health/ready."""
        log = self.log_path.open("ab")
        started = time.monotonic()
        self.process = subprocess.Popen(
            self.command,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=service_environ(self.database_url, self.port, **self.extra),
        )
        if wait_ready:
            self.wait_ready(timeout)
        return time.monotonic() - started

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise AssertionError(
                    f"service exited with {self.process.returncode}:\n" + self.log()
                )
            try:
                if httpx.get(f"{self.base_url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError("service did not become ready:\n" + self.log())

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.signal(signal.SIGTERM)
        try:
            return self.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, timeout=10, headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
