"""The API's own description, /openapi.json, as the app serves it: one document per test,
from the app on a SQLite file (the document does not depend on the backend)."""

from __future__ import annotations

import pytest


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
async def document(client) -> dict:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()
