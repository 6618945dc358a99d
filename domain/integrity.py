"""Anchors outside the database, and what the log must agree with.

The hash chain shows that no recorded event was altered in place; it cannot show that
the tail was cut off, or that someone rewrote the whole chain from some seq on with
freshly computed hashes. For that the head is written down, now and then, somewhere the
database cannot reach: a digest `(seq, hash, recorded_at)`, as SQL Server Ledger's
database digests and Certificate Transparency's signed tree heads do
(https://learn.microsoft.com/sql/relational-databases/security/ledger/ledger-digest-management,
https://www.rfc-editor.org/rfc/rfc6962#section-3.5). A log that ends before a digest's
seq, or holds another hash there, contradicts it.

An operator who has looked into a contradiction may accept the present state: that is
written as a digest too (reason "accepted", with the problems accepted), and what it
accepts is reported, never silently forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from domain.chain import ChainReport
from domain.events import LogHead

ACCEPTED = "accepted"


@dataclass(frozen=True)
class Digest:
    """The head of the log as it stood at `written_at`, and why it was written
    ("interval", "shutdown", "start", "backup", "accepted", "restore")."""

    seq: int
    hash: str
    recorded_at: str  # the head event's recorded_at, ISO 8601 UTC ("" for an empty log)
    written_at: str
    reason: str
    accepts: tuple[str, ...] = ()  # an accepted digest: the findings it accepts
    note: str = ""

    def describe(self) -> str:
        return f"the digest of {_minute(self.written_at)} ({self.reason})"


@dataclass(frozen=True)
class Finding:
    """One problem an integrity check found. `key` names it stably, so an operator's
    acceptance can name it; `accepted` marks one an accepted digest covers."""

    kind: str  # chain, count, digest, digests, idempotency, triggers
    key: str
    detail: str
    accepted: bool = False


@dataclass(frozen=True)
class Audit:
    """Everything `verify` checked, and what it found."""

    rows: int
    head: LogHead
    chain: ChainReport | None
    digests_checked: int
    idempotency_checked: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if not f.accepted]

    @property
    def intact(self) -> bool:
        return not self.problems


class DigestLog(Protocol):
    """Where digests are kept: append-only, outside the database."""

    def read(self) -> tuple[list[Digest], list[Finding]]:
        """Every digest, oldest first, and a finding for each entry that cannot be read
        or is not authentic."""
        ...

    def append(self, digest: Digest) -> None:
        """Durably, before returning."""
        ...

    @property
    def location(self) -> str: ...


class DigestLogs(Protocol):
    def for_log(self, log_id: str) -> DigestLog:
        """The digests of the log with this id (helionyx_meta `log_id`)."""
        ...


class LogFacts(Protocol):
    """Questions about the stored log that only the store can answer cheaply."""

    async def log_id(self) -> str:
        """The id the log was given when its database was created (migrations)."""
        ...

    async def head(self) -> tuple[LogHead, str]:
        """The head and its event's recorded_at (ISO 8601 UTC; "" for an empty log)."""
        ...

    async def missing_triggers(self) -> list[str]:
        """The guard triggers that are absent or disabled."""
        ...

    async def hashes_at(self, seqs: Sequence[int]) -> dict[int, str]:
        """The recorded hash at each of these seqs that exists."""
        ...

    async def row_count(self, upto: int) -> int:
        """How many rows the log holds at seqs 1..upto (appends after a head that was
        read do not count, so a count taken while the service writes agrees with it)."""
        ...

    async def idempotency_findings(self) -> tuple[int, list[Finding]]:
        """How many idempotency records there are, and one finding per record whose
        event is missing or does not carry its key."""
        ...


def digest_findings(
    digests: Sequence[Digest], head: LogHead, hashes: Mapping[int, str]
) -> list[Finding]:
    """What the log contradicts: a digest whose seq lies past the head, or at which the
    log holds another hash. `hashes`: the recorded hash at each digest's seq."""
    findings = []
    for digest in digests:
        if digest.seq == 0:
            continue
        where = f"{digest.describe()} says seq {digest.seq} has hash {digest.hash[:16]}…"
        if digest.seq > head.last_seq:
            found = f"the log ends at seq {head.last_seq}"
        elif hashes.get(digest.seq) is None:
            found = "the log has no event at that seq"
        elif hashes[digest.seq] != digest.hash:
            found = f"the log holds {hashes[digest.seq][:16]}… there (rewritten)"
        else:
            continue
        # Keyed by the digest, not by how it is contradicted: once accepted, it stays so
        # when later appends fill the seqs it names.
        findings.append(
            Finding("digest", f"digest@{digest.seq}:{digest.hash[:16]}", f"{where}, {found}")
        )
    return findings


def chain_findings(report: ChainReport) -> list[Finding]:
    problems = getattr(report, "problems", ())
    if problems:
        return [Finding("chain", f"{p.kind}@{p.seq}", p.detail) for p in problems]
    if report.intact:
        return []
    return [Finding("chain", f"chain@{report.first_bad_seq}", report.problem or "broken")]


def mark_accepted(findings: Iterable[Finding], digests: Sequence[Digest]) -> list[Finding]:
    """Findings an operator accepted (by key, in an accepted digest) stay listed, marked."""
    accepted = {key for d in digests if d.reason == ACCEPTED for key in d.accepts}
    return [Finding(f.kind, f.key, f.detail, f.key in accepted) for f in findings]


def _minute(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso
