"""Audit lines: what someone tried at the edges, and what an operator did to the log.

One line per act on the logger `helionyx.audit`, through the tier's formatter
(app/logging_setup.py): JSON in staging and live, the fields as keys of their own;
readable in dev. That formatter also masks every configured secret in the final text.

Only the fields named in FIELDS can be given, so nothing else slips into a line: a
presented token is never logged, not even hashed (a hash of a short guess gives the
guess away). A Telegram user id is not a secret; an address is the client's.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from app.logging_setup import request_id

log = logging.getLogger("helionyx.audit")

FIELDS = frozenset(
    {
        "client",
        "path",
        "reason",
        "retry_after_s",
        "failures",
        "lockout_s",
        "suppressed",
        "user_id",
        "chat_id",
        "tier",
        "file",
        "events",
        "seq",
        "findings",
        "host",
        "port",
        "version",
        "exit_status",
    }
)
_LONGEST_TEXT = 200
_BARE = re.compile(r"[^\s\"=]+")

Value = str | int | float | None


def audit(action: str, outcome: str, **fields: Value) -> None:
    """One audit line: `action` (dotted: `auth.failed`), `outcome` (`refused`, `done`)."""
    unknown = fields.keys() - FIELDS
    if unknown:
        raise TypeError(f"audit() got fields it does not log: {', '.join(sorted(unknown))}")
    given = {
        name: value[:_LONGEST_TEXT] if isinstance(value, str) else value
        for name, value in fields.items()
        if value is not None
    }
    text = " ".join(
        [action, outcome, *(f"{name}={_spelled(value)}" for name, value in given.items())]
    )
    record = {"action": action, "outcome": outcome, **given}
    if (rid := request_id.get()) is not None:
        record["request_id"] = rid
    log.info("%s", text, extra={"audit": record})


def _spelled(value: Value) -> str:
    if isinstance(value, str) and not _BARE.fullmatch(value):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@dataclass(slots=True)
class _Heard:
    last_line: float
    held: int = 0


class QuietAudit:
    """Audit lines for acts anyone can repeat at will (a wrong token, a stranger's
    message): at most one line per action and source every `every_s` seconds; the next
    line says how many were held back in between (`suppressed`).

    Bounded: past `max_sources` the source heard least recently is forgotten, so a
    flood from many addresses costs fixed memory (at worst, a line more for a source
    that comes back, and its held-back count lost).
    """

    def __init__(
        self,
        every_s: float = 60.0,
        max_sources: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.every_s = every_s
        self.max_sources = max_sources
        self._clock = clock
        self._heard: OrderedDict[tuple[str, str], _Heard] = OrderedDict()

    def __call__(self, action: str, outcome: str, source: str, **fields: Value) -> bool:
        """Writes the line unless one for (action, source) was written within `every_s`;
        says whether it did."""
        now = self._clock()
        key = (action, source)
        heard = self._heard.pop(key, None)
        if heard is not None and now - heard.last_line < self.every_s:
            heard.held += 1
            self._heard[key] = heard  # re-inserted: now the most recently heard
            return False
        self._heard[key] = _Heard(now)
        if len(self._heard) > self.max_sources:
            self._heard.popitem(last=False)
        audit(action, outcome, **fields, suppressed=heard.held if heard and heard.held else None)
        return True

    def __len__(self) -> int:
        return len(self._heard)
