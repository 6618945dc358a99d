"""Readiness: the database answers, its schema is at head, and it belongs to this tier."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.log_guard import WriteGuard
from infrastructure.schema import DatabaseState, database_state, problems
from infrastructure.unit_of_work import WriteHealth


@dataclass(frozen=True)
class ReadinessReport:
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(result == "ok" for result in self.checks.values())


class Readiness:
    def __init__(
        self,
        engine: AsyncEngine,
        tier: str,
        expected_revision: str,
        timeout_s: float = 3.0,
        guard: WriteGuard | None = None,
        writes: WriteHealth | None = None,
    ) -> None:
        self._engine = engine
        self._guard = guard
        self._writes = writes
        self._tier = tier
        self._expected_revision = expected_revision
        self._timeout_s = timeout_s
        self.draining = False

    async def state(self) -> DatabaseState:
        async with asyncio.timeout(self._timeout_s):
            return await database_state(self._engine)

    async def check(self) -> ReadinessReport:
        checks = {
            "database": "ok",
            "schema": "ok",
            "tier": "ok",
            "integrity": "ok",
            "writes": "ok",
            "draining": "ok",
        }
        if self._writes is not None and self._writes.failure is not None:
            checks["writes"] = (
                f"the last write failed ({self._writes.failure}); ready again once one succeeds"
            )
        if self._guard is not None and self._guard.refusal is not None:
            checks["integrity"] = (
                f"the event log is contradicted, writes are refused: {self._guard.refusal}"
            )
        if self.draining:
            checks["draining"] = "the service is shutting down"
        try:
            state = await self.state()
        except Exception as e:  # any failure to answer means not ready, whatever the driver
            checks["database"] = f"the database does not answer ({type(e).__name__})"
            checks["schema"] = checks["tier"] = "unknown"
            return ReadinessReport(checks)
        for problem in problems(
            state, expected_revision=self._expected_revision, expected_tier=self._tier
        ):
            checks["tier" if "tier" in problem else "schema"] = problem
        return ReadinessReport(checks)
