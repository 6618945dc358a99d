"""The service's watch over its own log: checked at start and in the background,
anchored by digests at a fixed cadence and at shutdown, and closed to writes while the
log contradicts what it promised (domain/integrity.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from domain.chain import iso_utc
from domain.errors import LogContradicted
from domain.event_log import ChainVerification
from domain.integrity import (
    ACCEPTED,
    Audit,
    Digest,
    DigestLog,
    DigestLogs,
    Finding,
    LogFacts,
    chain_findings,
    digest_findings,
    mark_accepted,
)
from domain.ports import Clock

log = logging.getLogger("helionyx.integrity")


class WriteGuard:
    """Open unless the log was found contradicted; the unit of work asks before writing."""

    def __init__(self) -> None:
        self.refusal: str | None = None

    def refuse(self, reason: str) -> None:
        self.refusal = reason

    def allow(self) -> None:
        self.refusal = None

    def check(self) -> None:
        if self.refusal is not None:
            raise LogContradicted(f"writes are refused: {self.refusal} (make verify says more)")


class IntegrityService:
    def __init__(
        self,
        facts: LogFacts,
        digests: DigestLogs,
        chain: ChainVerification,
        clock: Clock,
        guard: WriteGuard,
    ) -> None:
        self._facts = facts
        self._digest_logs = digests
        self._log: DigestLog | None = None
        self._chain = chain
        self._clock = clock
        self._guard = guard
        self._last: Digest | None = None  # the last digest written: the file's last line
        self._logged: set[str] = set()  # findings already logged, by key

    async def digests(self) -> DigestLog:
        if self._log is None:
            self._log = self._digest_logs.for_log(await self._facts.log_id())
        return self._log

    async def _read_digests(self) -> tuple[list[Digest], list[Finding]]:
        return await asyncio.to_thread((await self.digests()).read)

    async def _append(self, digest: Digest) -> None:
        await asyncio.to_thread((await self.digests()).append, digest)
        self._last = digest

    async def start_check(self) -> list[Finding]:
        """What can be checked before serving, in time independent of the log's size:
        the guard triggers, the digest file, and the log against the last digest. Any
        problem closes the log to writes."""
        digests, findings = await self._read_digests()
        self._last = digests[-1] if digests else None
        missing = await self._facts.missing_triggers()
        if missing:
            findings.append(_triggers_finding(missing))
        if digests:
            head, _ = await self._facts.head()
            last = digests[-1:]
            findings += digest_findings(last, head, await self._facts.hashes_at([last[0].seq]))
        findings = mark_accepted(findings, digests)
        self._close_if(findings)
        return findings

    async def audit(self, *, progress: Callable[[int], None] | None = None) -> Audit:
        """Everything: the chain, the rows counted, every digest, every idempotency
        record, the triggers."""
        digests, findings = await self._read_digests()
        head, _ = await self._facts.head()
        # Counted up to the head just read: rows a writer appends meanwhile are not missing.
        rows = await self._facts.row_count(upto=head.last_seq)
        chain = await self._chain.verify(progress=progress)
        findings += chain_findings(chain)
        if rows != head.last_seq:
            findings.append(
                Finding(
                    "count",
                    f"count@{head.last_seq}",
                    f"the log holds {rows} rows but its head is seq {head.last_seq}: "
                    f"{_events(head.last_seq - rows)} missing",
                )
            )
        hashes = await self._facts.hashes_at(sorted({d.seq for d in digests if d.seq}))
        findings += _unique(digest_findings(digests, head, hashes))
        checked, orphans = await self._facts.idempotency_findings()
        findings += orphans
        missing = await self._facts.missing_triggers()
        if missing:
            findings.append(_triggers_finding(missing))
        return Audit(rows, head, chain, len(digests), checked, mark_accepted(findings, digests))

    async def background_audit(self) -> Audit | None:
        """The full audit, once, while serving: a problem closes the log to writes."""
        try:
            audit = await self.audit()
        except Exception as e:  # no verdict (the database went away): say so, keep serving
            log.warning("the integrity audit could not finish: %s", e)
            return None
        self._close_if(audit.findings)
        if audit.intact:
            log.info(
                "integrity audit: %d rows, chain intact, %d digests, %d idempotency records agree",
                audit.rows,
                audit.digests_checked,
                audit.idempotency_checked,
            )
        return audit

    async def write_digest(self, reason: str, *, force: bool = False) -> Digest | None:
        """Write the head down, unless it is already the last digest (or the log is
        closed to writes: a contradicted log is not anchored)."""
        if self._guard.refusal is not None:
            return None
        head, recorded_at = await self._facts.head()
        last = self._last
        if (
            not force
            and last is not None
            and (last.seq, last.hash) == (head.last_seq, head.last_hash)
        ):
            return None
        digest = Digest(
            head.last_seq, head.last_hash, recorded_at, iso_utc(self._clock.now()), reason
        )
        await self._append(digest)
        return digest

    async def accept(self, note: str) -> tuple[Digest, list[Finding]]:
        """The operator accepts the log as it is now: every present problem is recorded
        as accepted, with the head, and the log opens to writes again. Missing triggers
        cannot be accepted (restore them first: `make migrate`)."""
        audit = await self.audit()
        if any(f.kind == "triggers" for f in audit.problems):
            raise LogContradicted(
                "the guard triggers are missing or disabled: restore them "
                "with `make migrate` before accepting the log"
            )
        accepted = tuple(f.key for f in audit.findings)
        kinds = sorted({f.kind for f in audit.findings})
        head, recorded_at = await self._facts.head()
        digest = Digest(
            head.last_seq,
            head.last_hash,
            recorded_at,
            iso_utc(self._clock.now()),
            ACCEPTED,
            accepts=accepted,
            note=note,
        )
        await self._append(digest)
        self._guard.allow()
        log.warning(
            "the log was accepted as it is at seq %d (%s): %d findings accepted (%s)",
            head.last_seq,
            note,
            len(accepted),
            ", ".join(kinds),
        )
        return digest, audit.problems

    async def keep_digests(self, *, every_events: int, every_s: float, poll_s: float = 1.0) -> None:
        """Until cancelled: a digest once `every_events` events or `every_s` seconds have
        passed since the last one, whichever comes first (and only if the head moved)."""
        since = time.monotonic()
        while True:
            await asyncio.sleep(poll_s)
            try:
                head, _ = await self._facts.head()
                behind = head.last_seq - (self._last.seq if self._last else 0)
                if behind >= every_events or time.monotonic() - since >= every_s:
                    await self.write_digest("interval")  # nothing, if the head stood still
                    since = time.monotonic()
            except Exception as e:  # the next round tries again
                log.warning("could not write a digest: %s", e)

    def _close_if(self, findings: list[Finding]) -> None:
        problems = [f for f in findings if not f.accepted]
        if not problems:
            return
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        self._guard.refuse(f"{problems[0].detail}{more}")
        for finding in problems:
            if finding.key not in self._logged:  # the start check and the audit both look
                self._logged.add(finding.key)
                log.error("integrity: %s", finding.detail)


def _triggers_finding(missing: list[str]) -> Finding:
    return Finding(
        "triggers",
        "triggers",
        f"the event log's guard triggers are missing or disabled: {', '.join(missing)}",
    )


def _unique(findings: list[Finding]) -> list[Finding]:
    first: dict[str, Finding] = {}
    for f in findings:
        first.setdefault(f.key, f)
    return list(first.values())


def _events(count: int) -> str:
    return "1 event is" if count == 1 else f"{count} events are"
