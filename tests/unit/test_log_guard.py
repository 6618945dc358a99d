"""The service's watch over its log, on in-memory ports: what closes it to writes, what
opens it again, and when digests are written."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import LogContradicted, StorageUnavailable
from domain.log_guard import IntegrityService, WriteGuard
from tests.fakes import FakeClock
from tests.fakes_integrity import InMemoryDigestLogs, InMemoryLogFacts, IntactChain


@pytest.fixture
def facts() -> InMemoryLogFacts:
    return InMemoryLogFacts()


@pytest.fixture
def digests() -> InMemoryDigestLogs:
    return InMemoryDigestLogs()


@pytest.fixture
def service(facts, digests) -> IntegrityService:
    return IntegrityService(facts, digests, IntactChain(facts), FakeClock(), WriteGuard())


def restarted(service: IntegrityService, facts, digests) -> IntegrityService:
    return IntegrityService(facts, digests, IntactChain(facts), FakeClock(), WriteGuard())


async def test_an_agreeing_log_stays_open(service, facts):
    facts.append(3)
    assert await service.start_check() == []
    digest = await service.write_digest("start")
    assert (digest.seq, digest.reason) == (3, "start")
    assert await service.write_digest("interval") is None  # the head did not move
    assert (await service.write_digest("shutdown", force=True)).reason == "shutdown"


async def test_a_cut_tail_closes_the_log_to_writes(service, facts, digests):
    facts.append(5)
    await service.write_digest("shutdown")
    facts.cut(2)
    again = restarted(service, facts, digests)
    [finding] = await again.start_check()
    assert finding.kind == "digest" and "the log ends at seq 3" in finding.detail
    with pytest.raises(LogContradicted, match="writes are refused: .*ends at seq 3"):
        again._guard.check()
    assert isinstance(LogContradicted("x"), StorageUnavailable)  # a 503, not a 500
    assert await again.write_digest("interval") is None  # a contradicted log: no anchor


async def test_a_rewritten_head_is_named(service, facts, digests):
    facts.append(4)
    await service.write_digest("interval")
    facts.hashes[4] = "f" * 64
    [finding] = await restarted(service, facts, digests).start_check()
    assert "rewritten" in finding.detail


async def test_missing_triggers_close_the_log_and_cannot_be_accepted(service, facts):
    facts.append(1)
    facts.missing = ["events_reject_delete"]
    [finding] = await service.start_check()
    assert finding.kind == "triggers" and "events_reject_delete" in finding.detail
    with pytest.raises(LogContradicted, match="make migrate"):
        await service.accept("no")


async def test_an_unreadable_digest_line_closes_the_log(service, facts, digests):
    from domain.integrity import Finding

    digests.log.unreadable.append(Finding("digests", "digests-line@2", "line 2 cannot be read"))
    assert [f.kind for f in await service.start_check()] == ["digests"]


async def test_accepting_opens_the_log_and_keeps_the_findings_listed(service, facts, digests):
    facts.append(6)
    await service.write_digest("shutdown")
    facts.cut(1)
    await service.start_check()
    digest, accepted = await service.accept("a crash took the last one")
    assert digest.reason == "accepted" and digest.seq == 5 and digest.accepts
    assert [f.kind for f in accepted] == ["digest"]
    assert service._guard.refusal is None

    facts.append(3)  # seq 6 again, another hash: the accepted digest stays accepted
    again = restarted(service, facts, digests)
    assert [f for f in await again.start_check() if not f.accepted] == []
    audit = await again.audit()
    assert audit.intact and [f.accepted for f in audit.findings] == [True]


async def test_digests_follow_the_event_cadence(service, facts, digests):
    facts.append(1)
    await service.start_check()
    await service.write_digest("start")
    keeper = asyncio.create_task(service.keep_digests(every_events=5, every_s=3600, poll_s=0.01))
    try:
        facts.append(3)
        await asyncio.sleep(0.05)
        assert [d.seq for d in digests.log.digests] == [1]  # 3 behind: not yet
        facts.append(2)
        await asyncio.sleep(0.05)
        assert [d.seq for d in digests.log.digests] == [1, 6]
        assert digests.log.digests[-1].reason == "interval"
    finally:
        keeper.cancel()


async def test_digests_follow_the_time_cadence(service, facts, digests):
    facts.append(1)
    await service.write_digest("start")
    keeper = asyncio.create_task(service.keep_digests(every_events=1000, every_s=0.05, poll_s=0.01))
    try:
        await asyncio.sleep(0.1)
        assert len(digests.log.digests) == 1  # the head stood still: nothing new
        facts.append(1)
        await asyncio.sleep(0.1)
        assert [d.seq for d in digests.log.digests] == [1, 2]
    finally:
        keeper.cancel()


class WrittenWhileAudited(InMemoryLogFacts):
    """A log a writer appends to while the audit reads it: right after the first thing
    the audit asks of it, two more events are committed."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = False

    def _then_a_writer(self) -> None:
        if not self.asked:
            self.asked = True
            self.append(2)

    async def head(self):
        found = await super().head()
        self._then_a_writer()
        return found

    async def row_count(self, upto: int) -> int:
        found = await super().row_count(upto)
        self._then_a_writer()
        return found


async def test_events_appended_during_the_audit_are_not_missing_ones(digests):
    """A message that arrives while the start's audit runs (the bot's first update) must
    not read as missing events and close the log to writes."""
    facts = WrittenWhileAudited()
    facts.append(2)
    audited = IntegrityService(facts, digests, IntactChain(facts), FakeClock(), WriteGuard())

    audit = await audited.background_audit()

    assert audit is not None and audit.intact, audit and audit.findings
    audited._guard.check()  # open to writes
