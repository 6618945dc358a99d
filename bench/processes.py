"""The processes a benchmark run starts: the service (`make run ENV=dev`, as a user starts
it), the bare reference app, and the operator commands (`make verify`, ...), each with
the same environment: a temporary database, a free loopback port, a fresh token, the bot
off, warnings-only logs. Nothing of the developer's own environment for Helionyx leaks in
(the process environment wins over `.env.dev`, and every knob that matters is set here).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.config import PROJECT_ROOT

HOST = "127.0.0.1"
MAKE = ["make", "--no-print-directory"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads together (ended ones too), in
    seconds: /proc/PID/stat's utime and stime (proc(5)), after the command name, which may
    hold spaces and parentheses."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def bench_environ(database_url: str, token: str, port: int | None = None) -> dict[str, str]:
    # The harness may itself run under `make bench`: its children are started as a user
    # would start them, not as sub-makes.
    skip = ("HELIONYX_", "TELEGRAM_", "MAKE", "MFLAGS")
    base = {k: v for k, v in os.environ.items() if not k.startswith(skip) and k != "ENV"}
    env = {
        **base,
        "HELIONYX_DATABASE_URL": database_url,
        "HELIONYX_API_TOKEN": token,
        "TELEGRAM_MODE": "off",
        "HELIONYX_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # Digests of the bench's logs, outside the checkout's var/.
        "HELIONYX_DIGEST_DIR": str(Path(tempfile.gettempdir()) / "helionyx-bench-digests"),
    }
    if port is not None:
        env["HELIONYX_PORT"] = str(port)
    return env


@dataclass(frozen=True)
class Timed:
    seconds: float
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_command(
    command: list[str], env: dict[str, str], timeout: float = 3600, *, show_stderr: bool = False
) -> Timed:
    """Run it to the end and time it; a failure raises with the end of its output.
    `show_stderr` passes its progress lines through instead of keeping them."""
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        text=True,
        timeout=timeout,
        stdout=subprocess.PIPE,
        stderr=None if show_stderr else subprocess.PIPE,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {done.returncode}:\n"
            f"{done.stdout[-2000:]}{(done.stderr or '')[-2000:]}"
        )
    return Timed(elapsed, done.stdout, done.stderr or "")


def make(target: str, env: dict[str, str], *args: str, timeout: float = 3600) -> Timed:
    return run_command([*MAKE, target, "ENV=dev", *args], env, timeout)


class Server:
    """A server process on a loopback port: started, waited for, measured, stopped."""

    def __init__(
        self, name: str, command: list[str], env: dict[str, str], port: int, log_path: Path
    ) -> None:
        self.name, self.command, self.env, self.port = name, command, env, port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def service(cls, database_url: str, token: str, log_path: Path) -> Server:
        port = free_port()
        return cls(
            "service",
            [*MAKE, "run", "ENV=dev"],
            bench_environ(database_url, token, port),
            port,
            log_path,
        )

    @classmethod
    def bare(cls, token: str, log_path: Path) -> Server:
        port = free_port()
        return cls(
            "bare",
            [sys.executable, "-m", "bench.bare_app", "--port", str(port)],
            bench_environ("sqlite+aiosqlite:///:memory:", token),
            port,
            log_path,
        )

    @classmethod
    def app_alone(cls, database_url: str, token: str, log_path: Path) -> Server:
        port = free_port()
        return cls(
            "app alone",
            [sys.executable, "-m", "bench.app_alone", "--port", str(port)],
            bench_environ(database_url, token),
            port,
            log_path,
        )

    @classmethod
    def durable(cls, database_url: str, token: str, log_path: Path) -> Server:
        port = free_port()
        return cls(
            "durable",
            [
                sys.executable,
                "-m",
                "bench.durable_app",
                "--port",
                str(port),
                "--database",
                database_url,
            ],
            bench_environ(database_url, token),
            port,
            log_path,
        )

    def start(self, timeout: float = 300) -> float:
        """Start it; returns the seconds from the start to the first 200 of /health/ready."""
        log = self.log_path.open("ab")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = started + timeout
        with httpx.Client(timeout=1) as client:
            while time.perf_counter() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.process.returncode}:\n"
                        + self.log_path.read_text(errors="replace")[-3000:]
                    )
                try:
                    answer = client.get(f"http://{HOST}:{self.port}/health/ready")
                    if answer.status_code == 200:
                        return time.perf_counter() - started
                except httpx.HTTPError:
                    pass
                time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready within {timeout} s")

    def server_pid(self) -> int:
        """The Python process that serves: make's only child for the service."""
        assert self.process is not None
        if self.command[0] != "make":
            return self.process.pid
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = children.read_text().split()
        if len(pids) != 1:
            raise RuntimeError(f"make has {len(pids)} children, expected the service alone")
        return int(pids[0])

    def cpu_seconds(self) -> float:
        """CPU time the serving process has used so far (make's own is not counted)."""
        return cpu_seconds(self.server_pid())

    def rss_mb(self) -> float:
        """Resident memory of the serving process, in MiB (VmRSS)."""
        for line in Path(f"/proc/{self.server_pid()}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc")

    def stop(self) -> int:
        """SIGTERM to the serving process (make passes no signal on); its exit status."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        try:
            os.kill(self.server_pid(), signal.SIGTERM)
            return self.process.wait(timeout=60)
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            self.process.kill()
            return self.process.wait(timeout=10)
