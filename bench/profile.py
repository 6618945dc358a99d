"""Where the service spends its time under the benchmark's load: `python -m bench.profile`.

Starts the service as `make bench` does (fresh temporary SQLite database, or
`--database-url`), drives single-message ingest (or `--path batch`) with 16 connections,
and samples the serving process with py-spy meanwhile. py-spy is not a dependency of
the project: `.venv/bin/pip install py-spy` first. Writes the raw collapsed stacks
(`flamegraph.pl` or speedscope read them) and prints, per thread kind, the functions
with the largest share of samples, inclusive and self.
"""

from __future__ import annotations

import argparse
import collections
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench import databases
from bench.load import Target, load_client, run_load
from bench.messages import batch_body, message_body
from bench.processes import HOST, Server

_LINE = re.compile(r":\d+\)$")


def summarize(raw: Path, top: int = 30) -> str:
    """Shares of all samples: by thread (event loop or other), then inclusive and self."""
    total = 0
    threads: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames, n = stack.split(";"), int(count)
        total += n
        loop = any("run_forever" in frame for frame in frames)
        threads["event loop thread" if loop else "other threads (aiosqlite, ...)"] += n
        for frame in {_LINE.sub(")", frame) for frame in frames[1:]}:
            inclusive[frame] += n
        own[frames[-1]] += n
    if not total:
        return "no samples"
    out = [f"{total} samples"]
    out += [f"{n / total:6.1%}  {name}" for name, n in threads.most_common()]
    out.append("-- inclusive")
    out += [f"{n / total:6.1%}  {name[:140]}" for name, n in inclusive.most_common(top)]
    out.append("-- self")
    out += [f"{n / total:6.1%}  {name[:140]}" for name, n in own.most_common(top)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.profile",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--path", choices=("message", "batch"), default="message")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url", help="default: a fresh temporary SQLite file")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("bench/results/profile.txt"),
        help="raw collapsed stacks (gitignored under bench/results/)",
    )
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--py-spy-option",
        action="append",
        default=[],
        dest="py_spy_options",
        help="passed on to py-spy record, e.g. --py-spy-option=--native or --py-spy-option=--gil",
    )
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        parser.error("py-spy is not installed: .venv/bin/pip install py-spy")
    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="helionyx-profile-") as tmp:
        url = args.database_url or databases.sqlite_url(Path(tmp) / "profile.db")
        service = Server.service(url, token, Path(tmp) / "service.log")
        service.start()
        try:
            path, body = (
                ("/api/v1/ingest/message", message_body)
                if args.path == "message"
                else ("/api/v1/ingest/batch", lambda i: batch_body(i * 1000, 1000))
            )
            target = Target(HOST, service.port, path, token)
            client = load_client()
            run_load(
                client,
                target,
                body,
                connections=args.connections,
                seconds=1,
                bodies=4 if args.path == "batch" else 1000,
            )
            args.output.parent.mkdir(parents=True, exist_ok=True)
            record = [
                py_spy,
                "record",
                "--pid",
                str(service.server_pid()),
                "--format",
                "raw",
                "--rate",
                "100",
                "--duration",
                str(args.seconds),
                "--output",
                str(args.output),
                *args.py_spy_options,
            ]
            sampler = threading.Thread(
                target=subprocess.run, args=(record,), kwargs={"capture_output": True}
            )
            sampler.start()
            result = run_load(
                client,
                target,
                body,
                connections=args.connections,
                seconds=args.seconds,
                bodies=4 if args.path == "batch" else 1000,
            )
            sampler.join()
        finally:
            service.stop()
    print(
        f"{client}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms (under the sampler)"
    )
    print(f"raw stacks: {args.output}")
    print(summarize(args.output, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
