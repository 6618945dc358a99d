"""Load for the benchmark: `wrk` when it is installed, else an asyncio client of our own.

Both keep every connection alive and send the next request as soon as the last answer
is in (a closed loop: N connections, at most N requests in flight). Both report their own
CPU use, in cores, so a run can tell a slow server from a busy client: wrk through the
kernel's accounting of the waited-for child, the asyncio client through the process's
CPU clock (the harness does nothing else while it runs).

The asyncio client is one process, one event loop, raw streams: no HTTP library between
it and the socket, so a request costs it some tens of microseconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

Body = Callable[[int], bytes]


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str
    token: str


@dataclass(frozen=True)
class LoadResult:
    client: str
    connections: int
    seconds: float
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    client_cpu: float  # cores the client itself kept busy, on average

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        return {**asdict(self), "rps": self.rps}


def load_client(prefer_wrk: bool = True) -> str:
    return "wrk" if prefer_wrk and shutil.which("wrk") else "asyncio"


def run_load(
    client: str, target: Target, body: Body, *, connections: int, seconds: float, bodies: int = 1000
) -> LoadResult:
    """POST for `seconds` from `connections` connections; `body(i)` is the i-th body
    (wrk cycles through the first `bodies` of them)."""
    if client == "wrk":
        return _run_wrk(target, [body(i) for i in range(bodies)], connections, seconds)
    return asyncio.run(_run_asyncio(target, body, connections, seconds))


# -- the asyncio client ------------------------------------------------------------------


def _request(target: Target, body: bytes) -> bytes:
    head = (
        f"POST {target.path} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
        f"Authorization: Bearer {target.token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[ \t]*chunked", re.IGNORECASE)


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])  # "HTTP/1.1 201 Created"
    if length := _LENGTH.search(head):
        await reader.readexactly(int(length.group(1)))
    elif _CHUNKED.search(head):
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    return status


async def _connection(
    target: Target,
    body: Body,
    counter: itertools.count,
    deadline: float,
    latencies: list[float],
    statuses: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        while time.perf_counter() < deadline:
            request = _request(target, body(next(counter)))
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            statuses.append(status)
    finally:
        writer.close()


async def _run_asyncio(target: Target, body: Body, connections: int, seconds: float) -> LoadResult:
    latencies: list[float] = []
    statuses: list[int] = []
    counter = itertools.count()
    cpu_started, started = time.process_time(), time.perf_counter()
    deadline = started + seconds
    outcomes = await asyncio.gather(
        *(
            _connection(target, body, counter, deadline, latencies, statuses)
            for _ in range(connections)
        ),
        return_exceptions=True,
    )
    elapsed = time.perf_counter() - started
    cpu = (time.process_time() - cpu_started) / elapsed
    failed = sum(isinstance(outcome, BaseException) for outcome in outcomes)
    errors = failed + sum(not 200 <= status < 300 for status in statuses)
    p50, p99 = _percentiles(latencies)
    return LoadResult("asyncio", connections, elapsed, len(latencies), errors, p50, p99, cpu)


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    if not latencies:
        return 0.0, 0.0
    ordered = sorted(latencies)

    def nearest_rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))] * 1000

    return nearest_rank(0.50), nearest_rank(0.99)


# -- wrk ---------------------------------------------------------------------------------

_WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["Content-Type"] = "application/json"
local bodies = {%(bodies)s}
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[(n %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "errors": %%d, "p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(raw: bytes) -> str:
    text = raw.decode()
    level = next(n for n in itertools.count(1) if f"]{'=' * n}]" not in text) * "="
    return f"[{level}[{text}]{level}]"


def _run_wrk(target: Target, bodies: list[bytes], connections: int, seconds: float) -> LoadResult:
    script = _WRK_SCRIPT % {
        "token": target.token,
        "bodies": ",\n".join(_lua_string(b) for b in bodies),
    }
    with tempfile.TemporaryDirectory(prefix="helionyx-wrk-") as tmp:
        path = Path(tmp) / "post.lua"
        path.write_text(script, encoding="utf-8")
        url = f"http://{target.host}:{target.port}{target.path}"
        command = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "60s",
            "-s",
            str(path),
            url,
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 90)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr or out.stdout}")
    data = json.loads(line.removeprefix("WRKJSON "))
    elapsed = data["duration_us"] / 1e6
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / elapsed
    return LoadResult(
        "wrk",
        connections,
        elapsed,
        data["requests"],
        data["errors"],
        data["p50_us"] / 1000,
        data["p99_us"] / 1000,
        cpu,
    )
