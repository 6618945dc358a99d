"""The time: the system's clock, and the owner's time zone by name."""

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput


class SystemClock:
    """The real time, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def zone_name(zone: tzinfo) -> str:
    """The name `zone_named` reads back: an IANA zone's key, or UTC."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    if zone is UTC:
        return "UTC"
    raise ValueError(f"{zone!r} has no name: the owner's zone comes from zone_named")


def zone_named(name: object) -> tzinfo:
    """An IANA zone ("Europe/Berlin"); InvalidInput naming what to use otherwise."""
    if not isinstance(name, str) or not name:
        raise InvalidInput("timezone must be a zone name like Europe/Berlin")
    if name == "UTC":
        return UTC  # needs no tz database, so the default works on a bare image too
    try:
        return ZoneInfo(name)
    except (LookupError, ValueError, OSError) as e:
        raise InvalidInput(f"unknown timezone {name!r}; use a name like Europe/Berlin") from e
