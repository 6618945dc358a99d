"""When the owner may be notified, and how patiently a failed send is retried."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from domain.clock import zone_named
from domain.errors import InvalidInput


@dataclass(frozen=True)
class NotificationPolicy:
    """The owner's timezone (an IANA name), waking hours and the retry schedule.

    Waking hours run from `waking_start_hour`:00 up to, not including, `waking_end_hour`:00;
    nothing but a timed todo's reminder is sent outside them. The daily summary goes out at
    or after `daily_summary_hour`, which must therefore lie within waking hours.

    A failed send is tried again `retry_first_s` later, then twice as long after each
    further failure, up to `retry_cap_s` (1, 2, 4, 8, ... minutes, then every 30). A send
    with no recorded outcome (the process died in between) is tried again
    `unconfirmed_grace_s` after it was claimed; a send is cut off after `send_timeout_s`,
    which must therefore be shorter, or a slow send could be taken for a lost one.
    """

    timezone: str = "UTC"
    waking_start_hour: int = 8
    waking_end_hour: int = 22
    daily_summary_hour: int = 8
    send_timeout_s: float = 15.0
    retry_first_s: float = 60.0
    retry_cap_s: float = 1800.0
    unconfirmed_grace_s: float = 120.0
    zone: tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("waking_start_hour", "waking_end_hour", "daily_summary_hour"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 23:
                raise InvalidInput(f"{name} must be a whole hour from 0 to 23, not {value!r}")
        if self.waking_start_hour >= self.waking_end_hour:
            raise InvalidInput("waking_start_hour must be before waking_end_hour")
        if not self.waking_start_hour <= self.daily_summary_hour < self.waking_end_hour:
            raise InvalidInput("daily_summary_hour must lie within waking hours")
        for name in ("send_timeout_s", "retry_first_s", "retry_cap_s", "unconfirmed_grace_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise InvalidInput(f"{name} must be a positive number of seconds")
        if self.retry_first_s > self.retry_cap_s:
            raise InvalidInput("retry_first_s must not exceed retry_cap_s")
        if self.send_timeout_s >= self.unconfirmed_grace_s:
            raise InvalidInput("send_timeout_s must be shorter than unconfirmed_grace_s")
        object.__setattr__(self, "zone", zone_named(self.timezone))

    def local(self, moment: datetime) -> datetime:
        """`moment` in the owner's zone; a naive time is taken as UTC."""
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return aware.astimezone(self.zone)

    def is_waking(self, local: datetime) -> bool:
        return self.waking_start_hour <= local.hour < self.waking_end_hour

    def summary_due(self, local: datetime) -> bool:
        return self.is_waking(local) and local.hour >= self.daily_summary_hour

    def backoff(self, attempt: int) -> timedelta:
        """The wait after attempt `attempt` (1, 2, ...) failed."""
        first = timedelta(seconds=self.retry_first_s)
        factor: int = 2 ** (max(attempt, 1) - 1)  # int ** int is Any to mypy: it may be a float
        return min(timedelta(seconds=self.retry_cap_s), first * factor)
