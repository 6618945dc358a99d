"""Audit lines: named fields only, and at most one line per source a period for what
anyone can repeat (an injected clock, no sleeps)."""

from __future__ import annotations

import json
import logging

import pytest

from app.audit import QuietAudit, audit
from app.logging_setup import JsonFormatter, _ContextFilter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "helionyx.audit"]


def test_a_line_names_the_action_the_outcome_and_its_fields(caplog):
    caplog.set_level(logging.INFO, logger="helionyx.audit")
    audit("backup.written", "done", tier="dev", file="helionyx dev.sqlite3", events=3)
    [record] = lines(caplog)
    assert record.getMessage() == (
        'backup.written done tier=dev file="helionyx dev.sqlite3" events=3'
    )
    assert record.audit == {
        "action": "backup.written",
        "outcome": "done",
        "tier": "dev",
        "file": "helionyx dev.sqlite3",
        "events": 3,
    }


def test_json_lines_carry_the_fields_as_keys_with_secrets_masked(caplog):
    caplog.set_level(logging.INFO, logger="helionyx.audit")
    audit("restore.refused", "refused", reason="the password s3cret-pw was wrong")
    [record] = lines(caplog)
    _ContextFilter("live").filter(record)
    entry = json.loads(JsonFormatter(["s3cret-pw"]).format(record))
    assert entry["action"] == "restore.refused" and entry["outcome"] == "refused"
    assert entry["logger"] == "helionyx.audit" and entry["tier"] == "live"
    assert "s3cret-pw" not in json.dumps(entry) and "[redacted]" in entry["reason"]


def test_an_unnamed_field_is_refused_so_a_token_cannot_slip_in():
    with pytest.raises(TypeError, match="token"):
        audit("auth.failed", "refused", token="guess")


def test_one_line_per_source_and_period_then_the_count_held_back(caplog):
    caplog.set_level(logging.INFO, logger="helionyx.audit")
    clock = Clock()
    quiet = QuietAudit(every_s=60, clock=clock)
    written = [quiet("auth.failed", "refused", "a", client="a") for _ in range(100)]
    assert written.count(True) == 1
    assert quiet("auth.failed", "refused", "b", client="b")  # another source: its own line
    assert quiet("telegram.stranger", "refused", "a")  # another action: its own line
    clock.now = 60
    assert quiet("auth.failed", "refused", "a", client="a")
    assert [r.audit.get("suppressed") for r in lines(caplog)] == [None, None, None, 99]


def test_many_sources_keep_the_map_at_its_cap():
    quiet = QuietAudit(every_s=60, max_sources=50, clock=Clock())
    for n in range(5000):
        quiet("auth.failed", "refused", f"10.1.{n // 256}.{n % 256}")
    assert len(quiet) == 50
