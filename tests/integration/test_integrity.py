"""The log against its anchors: every tamper case is named by the audit (`make verify`)
and by the start check, and a contradicted log is closed to writes, open to reads."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.container import Container
from domain.integrity import Digest
from infrastructure.digest_file import DigestFile
from tests.support import tamper

KEY = {"Idempotency-Key": "k-1"}


async def ingest(client, count: int, prefix: str = "m") -> None:
    for n in range(count):
        response = await client.post(
            "/api/v1/ingest/message",
            json={"text": f"{prefix}{n}"},
            headers={"Idempotency-Key": f"{prefix}-{n}"},
        )
        assert response.status_code == 201, response.text


async def kinds(container: Container) -> dict[str, list[str]]:
    audit = await container.integrity().audit()
    found: dict[str, list[str]] = {}
    for finding in audit.problems:
        found.setdefault(finding.kind, []).append(finding.detail)
    return found


async def fresh_check(container: Container) -> list[str]:
    """What a service starting on this database would find (a new guard, a new service)."""
    container.write_guard().allow()
    container.integrity.reset()
    return [f.detail for f in await container.integrity().start_check() if not f.accepted]


async def assert_closed_at_start(container: Container, client, reason: str) -> None:
    """A service starting on this log: its quick check passes (triggers, last digest),
    and the full audit it runs once serving closes the log to writes, naming `reason`."""
    assert await fresh_check(container) == []
    assert (await client.get("/health/ready")).status_code == 200
    await container.integrity().background_audit()
    ready = await client.get("/health/ready")
    assert ready.status_code == 503 and reason in ready.json()["checks"]["integrity"]
    refused = await client.post("/api/v1/ingest/message", json={"text": "after"})
    assert refused.status_code == 503


async def test_an_untouched_log_is_intact_and_anchored(container, client):
    await ingest(client, 6)
    integrity = container.integrity()
    digest = await integrity.write_digest("interval")
    assert digest is not None and digest.seq == 6
    assert await integrity.write_digest("interval") is None  # the head has not moved
    audit = await integrity.audit()
    assert audit.intact, audit.problems
    assert (audit.rows, audit.digests_checked, audit.idempotency_checked) == (6, 1, 6)
    assert await fresh_check(container) == []


@pytest.mark.parametrize("cut", [1, 5])
async def test_a_truncated_tail_contradicts_the_digest(container, client, cut):
    await ingest(client, 12)
    await container.integrity().write_digest("shutdown")
    await tamper.truncate_tail(container.engine(), cut)

    found = await kinds(container)
    assert any(
        "says seq 12 has hash" in d and f"the log ends at seq {12 - cut}" in d
        for d in found["digest"]
    ), found
    # The idempotency records of the removed messages point past the head.
    assert len(found["idempotency"]) == cut
    assert "does not hold" in found["idempotency"][0]

    problems = await fresh_check(container)
    assert problems and f"the log ends at seq {12 - cut}" in problems[0]
    ready = await client.get("/health/ready")
    assert ready.status_code == 503 and "contradicted" in ready.json()["checks"]["integrity"]
    refused = await client.post("/api/v1/ingest/message", json={"text": "after"})
    assert refused.status_code == 503 and "writes are refused" in refused.json()["detail"]
    assert (await client.get("/api/v1/events?after_seq=0")).status_code == 200  # reads work
    # A replayed key whose message was cut off gets the truth, never a 500 or another result.
    replay = await client.post(
        "/api/v1/ingest/message", json={"text": "m11"}, headers={"Idempotency-Key": "m-11"}
    )
    assert replay.status_code == 503


async def test_a_rechained_log_passes_the_chain_but_not_the_digest(container, client):
    await ingest(client, 10)
    await container.integrity().write_digest("interval")
    await tamper.rechain_from(container.engine(), 4, {"text": "forged"})

    audit = await container.integrity().audit()
    assert audit.chain is not None and audit.chain.intact  # re-chained: the chain agrees
    [finding] = audit.problems
    assert finding.kind == "digest" and "rewritten" in finding.detail
    assert "rewritten" in (await fresh_check(container))[0]


async def test_a_dropped_trigger_is_found_at_start(container, client):
    await ingest(client, 2)
    await tamper.drop_triggers(container.engine())
    problems = await fresh_check(container)
    assert problems and "guard triggers are missing or disabled" in problems[0]
    assert "triggers" in await kinds(container)


async def test_a_middle_delete_is_a_gap_and_a_count(container, client):
    await ingest(client, 8)
    await tamper.delete_rows(container.engine(), 4)
    found = await kinds(container)
    assert "count" in found and "7 rows but its head is seq 8" in found["count"][0]
    assert "chain" in found
    await assert_closed_at_start(container, client, "seq 4 is missing")


async def test_a_changed_payload_is_named(container, client):
    await ingest(client, 8)
    await tamper.change_payload(container.engine(), 3, {"text": "forged"})
    found = await kinds(container)
    assert any("seq 3" in d and "hash" in d for d in found["chain"]), found
    await assert_closed_at_start(container, client, "seq 3: content does not match")


async def test_a_record_pointing_past_the_head(container, client):
    await ingest(client, 3)
    await tamper.point_record_past_head(container.engine(), "m-1")
    found = await kinds(container)
    assert found == {"idempotency": [found["idempotency"][0]]}
    assert "'m-1' points at seq 13, which the log does not hold" in found["idempotency"][0]
    replay = await client.post(
        "/api/v1/ingest/message", json={"text": "m1"}, headers={"Idempotency-Key": "m-1"}
    )
    assert replay.status_code == 503
    assert "no longer holds" in replay.json()["detail"]
    assert (await client.get("/api/v1/state")).json()["events"]["last_seq"] == 3
    await assert_closed_at_start(container, client, "'m-1' points at seq 13")


async def test_accepting_the_log_opens_it_and_keeps_the_record(container, client):
    await ingest(client, 6)
    await container.integrity().write_digest("shutdown")
    await tamper.truncate_tail(container.engine(), 2)
    assert await fresh_check(container)

    digest, accepted = await container.integrity().accept("lost the tail in a crash")
    assert digest.reason == "accepted" and digest.seq == 4 and accepted
    assert await fresh_check(container) == []
    assert (await client.post("/api/v1/ingest/message", json={"text": "on"})).status_code == 201
    audit = await container.integrity().audit()
    assert audit.intact and any(f.accepted for f in audit.findings)


def test_digest_file_is_private_durable_and_authenticated(tmp_path):
    path = tmp_path / "digests" / "log.jsonl"
    keyed = DigestFile(path, key=b"k" * 32)
    first = Digest(
        3,
        "a" * 64,
        "2026-12-06T10:00:00.000000+00:00",
        "2026-12-06T10:05:00.000000+00:00",
        "interval",
    )
    keyed.append(first)
    keyed.append(Digest(5, "b" * 64, "", "2026-12-06T10:10:00.000000+00:00", "shutdown"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    digests, findings = keyed.read()
    assert [d.seq for d in digests] == [3, 5] and findings == []

    # A line rewritten without the key no longer reads as a digest.
    lines = path.read_text().splitlines()
    path.write_text(lines[0].replace('"seq": 3', '"seq": 2') + "\n" + lines[1] + "\n")
    digests, findings = keyed.read()
    assert [d.seq for d in digests] == [5]
    assert "line 1 is not authentic" in findings[0].detail
    # Another key: nothing is authentic.
    assert len(DigestFile(path, key=b"x" * 32).read()[1]) == 2
    # A line torn by a crash while appending was never acknowledged: ignored.
    with path.open("a") as f:
        f.write('{"v": 1, "seq": 9')
    assert [d.seq for d in keyed.read()[0]] == [5]


async def test_migrate_puts_dropped_triggers_back(container, client, database_url):
    from infrastructure.log_facts import restore_guard_triggers

    await ingest(client, 2)
    await tamper.drop_triggers(container.engine())
    assert await container.integrity().start_check()
    assert await restore_guard_triggers(container.engine())
    assert await fresh_check(container) == []
    assert await restore_guard_triggers(container.engine()) == []
    with pytest.raises(Exception, match="append-only"):
        await tamper.delete_rows_guarded(container.engine(), 1)


async def test_bytes_moved_between_metadata_and_payload_are_named(container):
    """The text a row spells stays whole when bytes move from its payload into its
    metadata with a forged time between them; the store must not accept that spelling."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from domain.chain import iso_utc
    from domain.events import NewEvent
    from infrastructure.sealing import SEALED_SPLIT
    from infrastructure.sqlite.event_rows import stored_time

    forged = datetime(2020, 1, 1, tzinfo=UTC)
    async with container.uow_factory()(write=True) as uow:
        [event] = await uow.events.append(
            [
                NewEvent(
                    "note.recorded",
                    "note",
                    "n1",
                    {"a": 1, "occurred_at": iso_utc(forged), "payload": {"b": 2}},
                    {"k": 1},
                )
            ]
        )
        await uow.commit()
    moved = f'{{"k":1}}{SEALED_SPLIT}{iso_utc(event.occurred_at)}","payload":{{"a":1'
    sqlite = container.engine().dialect.name == "sqlite"
    async with tamper.unguarded(container.engine()) as conn:
        await conn.execute(
            text("UPDATE events SET metadata = :m, payload = :p, occurred_at = :o WHERE seq = 1"),
            {"m": moved, "p": '{"b":2}}', "o": stored_time(iso_utc(forged)) if sqlite else forged},
        )

    report = await container.chain_verification().verify()
    assert report.first_bad_seq == 1 and "cannot be read" in (report.problem or "")


async def test_a_backup_carries_the_digest_and_a_restore_back_in_time_is_recorded(
    container, client, settings, tmp_path
):
    import argparse
    import json

    from app.cli.backup import cmd_backup, cmd_restore

    await ingest(client, 4)
    args = argparse.Namespace(dir=tmp_path / "backups")
    assert await cmd_backup(container, settings, args) == 0
    [manifest] = (tmp_path / "backups").glob("*.manifest.json")
    digest = json.loads(manifest.read_text())["digest"]
    assert (digest["seq"], digest["reason"]) == (4, "backup")
    head = await container.event_log().head()
    assert digest["hash"] == head.last_hash
    written, _ = (await container.integrity().digests()).read()
    assert written[-1].seq == 4 and written[-1].reason == "backup"

    if container.engine().dialect.name != "sqlite":
        return  # the PostgreSQL restore is exercised in test_backup_restore.py
    await ingest(client, 3, prefix="later")
    await container.integrity().write_digest("shutdown")
    await container.engine().dispose()
    backup_file = Path(str(manifest).removesuffix(".manifest.json"))
    restore = argparse.Namespace(file=backup_file, yes_overwrite=True, confirm=None)
    assert await cmd_restore(container, settings, restore) == 0
    # The log went back behind the shutdown digest: the operator's restore says so.
    assert await fresh_check(container) == []
    last = (await container.integrity().digests()).read()[0][-1]
    assert last.reason == "accepted" and "restored from" in last.note
    assert any(key.startswith("digest@7:") for key in last.accepts)
