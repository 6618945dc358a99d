"""`make verify` and `make accept-log`: the whole integrity audit, and the operator's
explicit acceptance of a log that contradicts its anchors (domain/log_guard.py).
`make verify FILE=export.jsonl` checks an export instead, offline: no database, no tier
configuration (infrastructure/log_file/reading.py)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from app.audit import audit as audit_line  # `audit` is the integrity audit here
from app.cli.progress import Progress
from app.container import Container
from app.settings import Settings
from domain.errors import LogContradicted, StorageUnavailable
from domain.integrity import Audit
from infrastructure.connection_problems import explain
from infrastructure.log_file.reading import FileProblem, check_file

VERIFY = "verify"
ACCEPT = "accept-log"


async def cmd_verify(container: Container, settings: Settings, _: argparse.Namespace) -> int:
    integrity = container.integrity()
    try:
        total = (await container.chain_verification().head()).count
        started = time.perf_counter()
        with Progress("verify", total=total) as progress:
            audit = await integrity.audit(progress=progress.advance)
        where = (await integrity.digests()).location
    except StorageUnavailable as e:
        why = (
            e
            if e.__cause__ is None
            else explain(e.__cause__, settings.database_url, tier=settings.tier)
        )
        print(f"verify: no verdict, the log could not be checked: {why}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    report(audit, where, elapsed)
    return 0 if audit.intact else 1


def verify_file(path: Path) -> int:
    """One line: the summary (exit 0), or the first bad line and what is wrong (exit 1)."""
    started = time.perf_counter()
    try:
        summary = check_file(path)
    except FileProblem as e:
        print(f"verify: {path} {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"verify: cannot read {path}: {e.strerror or e}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    head = summary.head
    print(
        f"export intact: {path}: {summary.events} events, head seq {head.last_seq}, head "
        f"hash {head.last_hash}, log {summary.header.log_id}, exported "
        f"{summary.header.exported_at} ({elapsed:.2f} s)"
    )
    return 0


def report(audit: Audit, digest_file: str, elapsed: float) -> None:
    chain = audit.chain
    assert chain is not None
    out = sys.stdout if audit.intact else sys.stderr
    if chain.intact:
        print(
            f"chain intact: {audit.rows} events, head seq {audit.head.last_seq}, "
            f"head hash {audit.head.last_hash} ({elapsed:.2f} s)",
            file=out,
        )
    else:
        print(
            f"chain BROKEN at seq {chain.first_bad_seq}: {chain.problem} "
            f"({audit.rows} rows, head seq {audit.head.last_seq})",
            file=out,
        )
    print(
        f"digests: {audit.digests_checked} checked ({digest_file}); idempotency records: "
        f"{audit.idempotency_checked} checked",
        file=out,
    )
    problems = audit.problems
    if problems:
        print(f"log CONTRADICTED: {len(problems)} problem(s)", file=out)
        for finding in problems:
            print(f"  [{finding.kind}] {finding.detail}", file=out)
        print(
            "The service refuses writes on this log until it is repaired (restore a "
            "backup: make restore) or accepted as it is (make accept-log).",
            file=out,
        )
    accepted = [f for f in audit.findings if f.accepted]
    if accepted:
        print(f"accepted earlier by an operator ({len(accepted)}):", file=out)
        for finding in accepted:
            print(f"  [{finding.kind}] {finding.detail}", file=out)


async def cmd_accept_log(container: Container, settings: Settings, args: argparse.Namespace) -> int:
    integrity = container.integrity()
    try:
        audit = await integrity.audit()
    except StorageUnavailable as e:
        print(f"{ACCEPT}: no verdict, the log could not be checked: {e}", file=sys.stderr)
        return 2
    if audit.intact:
        print(
            f"{ACCEPT}: nothing to accept, the log agrees with its digests "
            f"(head seq {audit.head.last_seq})."
        )
        return 0
    report(audit, (await integrity.digests()).location, 0.0)
    if not args.yes:
        print(
            f"{ACCEPT}: nothing was written. To accept the log as it is now, run again "
            f"with YES=1 (make accept-log ENV={settings.tier} YES=1 REASON=...).",
            file=sys.stderr,
        )
        return 1
    try:
        digest, _ = await integrity.accept(args.reason)
    except LogContradicted as e:
        print(f"{ACCEPT}: {e}", file=sys.stderr)
        return 1
    audit_line(
        "integrity.accepted",
        "done",
        tier=settings.tier,
        reason=args.reason,
        seq=digest.seq,
        findings=len(digest.accepts),
    )
    print(
        f"{ACCEPT}: accepted at seq {digest.seq} (hash {digest.hash}): "
        f"{len(digest.accepts)} finding(s) recorded as accepted in "
        f"{(await integrity.digests()).location}. The service serves writes again "
        "once restarted."
    )
    return 0


def add_parsers(sub) -> None:
    verify = sub.add_parser(
        VERIFY,
        help="check the chain, the digests and the idempotency records; or, with --file, an export",
    )
    verify.add_argument(
        "--file", type=Path, help="check this JSON Lines export instead (offline, no database)"
    )
    accept = sub.add_parser(ACCEPT, help="accept a contradicted log as it is now")
    accept.add_argument("--yes", action="store_true", help="write the acceptance")
    accept.add_argument(
        "--reason", default="accepted by the operator", help="why, recorded with the acceptance"
    )
