"""`make config ENV=<tier>`: the effective configuration, secrets redacted."""

from __future__ import annotations

import json

from app.settings import Settings

COMMAND = "config"


def print_config(settings: Settings) -> int:
    """Reads the configuration only: no database, no file written."""
    print(json.dumps(settings.redacted(), indent=2))
    return 0


def add_parser(sub) -> None:
    sub.add_parser(COMMAND, help="print the effective configuration, secrets redacted")
