"""One logging setup per tier: readable lines in dev, JSON lines in staging and live.

Every line carries the tier and, inside a request or a Telegram update, its id. Known
secrets are masked in the final text, whatever logged them (a library printing a URL
with the bot token in it, say).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, cast

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
update_id: ContextVar[int | None] = ContextVar("update_id", default=None)

MASK = "[redacted]"


class _ContextFilter(logging.Filter):
    def __init__(self, tier: str) -> None:
        super().__init__()
        self.tier = tier

    def filter(self, record: logging.LogRecord) -> bool:
        record.tier = self.tier
        record.request_id = request_id.get()
        record.update_id = update_id.get()
        return True


class _ContextRecord(logging.LogRecord):
    """A record as _ContextFilter leaves it, which every handler with our formatters has."""

    tier: str
    request_id: str | None
    update_id: int | None


class _Masking(logging.Formatter):
    def __init__(self, secrets: Iterable[str], **kwargs) -> None:
        super().__init__(**kwargs)
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text


class HumanFormatter(_Masking):
    def format(self, record: logging.LogRecord) -> str:
        record = cast(_ContextRecord, record)
        when = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        ids = "".join(
            f" {name}={value}"
            for name, value in (("req", record.request_id), ("update", record.update_id))
            if value is not None
        )
        line = f"{when} {record.levelname:<7} {record.name} [{record.tier}{ids}] "
        line += record.getMessage()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return self.mask(line)


class JsonFormatter(_Masking):
    def format(self, record: logging.LogRecord) -> str:
        record = cast(_ContextRecord, record)
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "tier": record.tier,
            "message": record.getMessage(),
        }
        if record.request_id is not None:
            entry["request_id"] = record.request_id
        if record.update_id is not None:
            entry["update_id"] = record.update_id
        entry.update(getattr(record, "audit", ()))  # an audit line's fields (app/audit.py)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self.mask(json.dumps(entry, ensure_ascii=False))


def _stderr_handler(tier: str, fmt: str, secrets: Iterable[str]) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    formatter_class = JsonFormatter if fmt == "json" else HumanFormatter
    handler.setFormatter(formatter_class(secrets))
    handler.addFilter(_ContextFilter(tier))
    return handler


def configure_audit_log(*, tier: str, fmt: str, secrets: Iterable[str] = ()) -> None:
    """For operator commands, which report on stdout and stderr themselves: only their
    audit lines (a backup, a restore, an accepted log) go to the log, in the tier's format."""
    audit = logging.getLogger("helionyx.audit")
    audit.addHandler(_stderr_handler(tier, fmt, secrets))
    audit.setLevel(logging.INFO)
    audit.propagate = False


def configure_logging(*, tier: str, level: str, fmt: str, secrets: Iterable[str] = ()) -> None:
    handler = _stderr_handler(tier, fmt, secrets)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("helionyx.audit").setLevel(logging.INFO)  # whatever the level
    # Chatty libraries speak up only when something is wrong, whatever our own level.
    for name in (
        "aiosqlite",
        "asyncio",
        "httpcore",
        "httpx",
        "sqlalchemy.engine",
        "aiogram.event",
        "multipart",
        "alembic.runtime.plugins",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
