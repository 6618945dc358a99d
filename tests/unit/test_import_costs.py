"""The HTTP app does not import aiogram: its types take seconds and tens of MiB to load,
which a tier without a bot must not pay at every start (app/bot/client.py imports it
only when the bot is on)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_http_app_and_the_container_load_without_aiogram():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, app.api.app, app.container, app.main; "
            "print(sorted(m for m in sys.modules if m.startswith('aiogram')))",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
