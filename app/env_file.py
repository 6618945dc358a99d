"""`python3 -m app.env_file <tier>`: create `.env.<tier>` from `.env.<tier>.example`.

The file is its owner's alone (0600) and never overwritten. dev works at once: the
example's values stay, with a fresh API token. Staging and live hold the owner's real
data, so nothing copied from an example may reach them: every value is left blank except
the secrets made here, and the command names what to fill in and exits 1, so that
`make run ENV=staging` stops there rather than on a stranger's database URL.

Standard library only: the Makefile runs it before the virtual environment exists.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path

GENERATED = ("HELIONYX_API_TOKEN", "TELEGRAM_WEBHOOK_SECRET")
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
EXIT_FILL_IN = 1


def render(example: str, tier: str) -> tuple[str, list[str]]:
    """The new file's text, and the names left blank for the owner to fill in."""
    lines, blank = [], []
    for line in example.splitlines():
        match = _ASSIGNMENT.match(line.strip())
        if match is None:
            lines.append(line)
            continue
        name, value = match.groups()
        if name in GENERATED:
            value = secrets.token_urlsafe(32)
        elif tier != "dev":
            value = ""
        if not value:
            blank.append(name)
        lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n", blank


def create(root: Path, tier: str) -> list[str]:
    """Write `.env.<tier>` (0600, exclusively); the names the owner must fill in."""
    example = root / f".env.{tier}.example"
    if not example.exists():
        raise FileNotFoundError(f"no {example.name} to start from")
    text, blank = render(example.read_text(encoding="utf-8"), tier)
    target = root / f".env.{tier}"
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    return blank


def main(argv: list[str]) -> int:
    tier = argv[0] if argv else "dev"
    target = f".env.{tier}"
    try:
        blank = create(Path.cwd(), tier)
    except FileExistsError:
        return 0
    except OSError as e:
        print(f"cannot create {target}: {e.strerror or e}", file=sys.stderr)
        return 2
    made = " and ".join(name for name in GENERATED if name not in blank)
    if tier == "dev" or not blank:
        print(f"created {target} (mode 0600, fresh {made}); edit it to add secrets")
        return 0
    bot = [name for name in blank if name.startswith("TELEGRAM_")]
    wanted = [name for name in blank if name not in bot]
    if bot:
        wanted.append(f"for the bot {', '.join(bot)} (or set TELEGRAM_MODE=off)")
    print(
        f"created {target} (mode 0600, fresh {made}): fill in {'; '.join(wanted)}; "
        "then run the command again",
        file=sys.stderr,
    )
    return EXIT_FILL_IN


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
