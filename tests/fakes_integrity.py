"""In-memory shapes of the integrity ports (domain/integrity.py): a log described by its
facts, digests kept in a list, and a chain check that says what it is told."""

from __future__ import annotations

from collections.abc import Sequence

from domain.chain import GENESIS_HASH, ChainReport
from domain.events import LogHead
from domain.integrity import Digest, Finding


class InMemoryLogFacts:
    def __init__(self) -> None:
        self.hashes: dict[int, str] = {}  # seq -> recorded hash
        self.missing: list[str] = []
        self.orphans: list[Finding] = []
        self._made = 0  # every event ever appended: a seq appended again hashes anew

    def append(self, count: int) -> None:
        for _ in range(count):
            self._made += 1
            self.hashes[len(self.hashes) + 1] = f"{self._made:064x}"

    def cut(self, count: int) -> None:
        for seq in sorted(self.hashes)[-count:]:
            del self.hashes[seq]

    async def log_id(self) -> str:
        return "log-1"

    async def head(self) -> tuple[LogHead, str]:
        if not self.hashes:
            return LogHead(0, GENESIS_HASH), ""
        seq = max(self.hashes)
        return LogHead(seq, self.hashes[seq]), "2026-12-06T10:00:00.000000+00:00"

    async def missing_triggers(self) -> list[str]:
        return list(self.missing)

    async def hashes_at(self, seqs: Sequence[int]) -> dict[int, str]:
        return {seq: self.hashes[seq] for seq in seqs if seq in self.hashes}

    async def row_count(self, upto: int) -> int:
        return sum(1 for seq in self.hashes if seq <= upto)

    async def idempotency_findings(self) -> tuple[int, list[Finding]]:
        return 0, list(self.orphans)


class InMemoryDigestLog:
    def __init__(self) -> None:
        self.digests: list[Digest] = []
        self.unreadable: list[Finding] = []

    @property
    def location(self) -> str:
        return "memory"

    def read(self) -> tuple[list[Digest], list[Finding]]:
        return list(self.digests), list(self.unreadable)

    def append(self, digest: Digest) -> None:
        self.digests.append(digest)


class InMemoryDigestLogs:
    def __init__(self) -> None:
        self.log = InMemoryDigestLog()

    def for_log(self, log_id: str) -> InMemoryDigestLog:
        return self.log


class IntactChain:
    """The chain check, as the facts say: intact up to their head."""

    def __init__(self, facts: InMemoryLogFacts) -> None:
        self._facts = facts

    async def head(self) -> LogHead:
        return (await self._facts.head())[0]

    async def verify(self, *, progress=None) -> ChainReport:
        head = await self.head()
        return ChainReport(len(self._facts.hashes), head.last_seq, head.last_hash)
