from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.service import Service, cli


@pytest.fixture
def migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
    result = cli(url, "migrate")
    assert result.returncode == 0, result.stderr
    return url


@pytest.fixture
def service(migrated_sqlite: str, tmp_path: Path) -> Iterator[Service]:
    svc = Service(migrated_sqlite, tmp_path / "service.log")
    try:
        yield svc
    finally:
        svc.stop()
