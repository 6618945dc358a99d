"""Routes take their services from the container (dependency-injector's wiring): a test
that overrides a provider changes what the route calls, with no patching of modules."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest
from dependency_injector import providers
from fastapi.routing import APIRoute

from app.api.app import ROUTE_MODULES
from app.api.schemas import IngestBatchOut, IngestResultOut
from app.api.wiring import AsyncProvide
from domain.events import RecordedEvent
from domain.ingest import BatchItemResult, IngestResult
from domain.messages import IncomingMessage
from domain.stats import Stats

AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url  # the wiring does not depend on the backend


def recorded(
    seq: int,
    type: str = "message.ingested",
    aggregate_type: str = "message",
    aggregate_id: str = "m-1",
) -> RecordedEvent:
    return RecordedEvent(
        seq=seq,
        event_id=f"00000000-0000-4000-8000-{seq:012d}",
        type=type,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload={},
        metadata={},
        idempotency_key=None,
        occurred_at=AT,
        recorded_at=AT,
        schema_version=1,
        prev_hash="0" * 64,
        hash=f"{seq:064x}",
    )


class StubObjects:
    def __init__(self, stats: Stats) -> None:
        self._stats = stats
        self.calls = 0

    async def stats(self) -> Stats:
        self.calls += 1
        return self._stats


class StubIngest:
    """Answers every message with `answer` and keeps what the route handed over."""

    def __init__(self, answer: IngestResult) -> None:
        self.answer = answer
        self.messages: list[IncomingMessage] = []

    async def ingest(
        self,
        message: IncomingMessage,
        *,
        idempotency_key: str | None = None,
        context: dict | None = None,
    ) -> IngestResult:
        self.messages.append(message)
        return self.answer

    async def ingest_batch(
        self, messages: list[IncomingMessage], *, context: dict | None = None
    ) -> list[BatchItemResult]:
        self.messages.extend(messages)
        return [
            BatchItemResult(0, self.answer),
            BatchItemResult(1, self.answer._replace(replayed=True)),
            BatchItemResult(2, None, "the key names another message"),
        ]

    async def close(self) -> None:
        pass


async def test_a_route_calls_the_service_its_container_provides(container, client):
    stub = StubObjects(
        Stats(
            todos={"open": 2},
            notes=3,
            tracks={},
            decisions={"active": 1},
            events={"message.ingested": 7},
        )
    )
    with container.objects_service.override(providers.Object(stub)):
        response = await client.get("/api/v1/stats")

    assert response.status_code == 200, response.text
    assert stub.calls == 1
    assert response.json()["notes"] == {"total": 3}
    assert response.json()["events"] == {"total": 7, "by_type": {"message.ingested": 7}}
    # The override gone, the real service answers again, from the empty database.
    assert (await client.get("/api/v1/stats")).json()["notes"] == {"total": 0}


async def test_ingest_hands_the_message_over_field_by_field(container, client):
    stub = StubIngest(IngestResult(recorded(1)))
    body = {
        "text": "call the plumber",
        "source": "mail",
        "source_id": "m-1",
        "author": "owner",
        "conversation_id": "c-9",
        "occurred_at": "2026-11-20T08:30:00+01:00",
        "metadata": {"device": "phone"},
    }
    with container.ingest_service.override(providers.Object(stub)):
        single = await client.post("/api/v1/ingest/message", json=body)
        batch = await client.post("/api/v1/ingest/batch", json={"messages": [body]})

    assert single.status_code == 201 and batch.status_code == 200
    [first, second] = stub.messages
    assert (
        first
        == second
        == IncomingMessage(
            text="call the plumber",
            source="mail",
            source_id="m-1",
            author="owner",
            conversation_id="c-9",
            occurred_at=datetime.fromisoformat(body["occurred_at"]),
            metadata={"device": "phone"},
        )
    )


async def test_ingest_answers_are_the_declared_models(container, client):
    stub = StubIngest(IngestResult(recorded(1), (recorded(2, "todo.created", "todo", "7"),)))
    with container.ingest_service.override(providers.Object(stub)):
        single = await client.post("/api/v1/ingest/message", json={"text": "todo: x"})
        batch = await client.post(
            "/api/v1/ingest/batch",
            json={"messages": [{"text": "todo: x"}, {"text": "todo: x"}, {"text": "y"}]},
        )

    assert single.status_code == 201
    assert single.json() == IngestResultOut.model_validate(single.json()).model_dump(mode="json")
    assert single.json()["derived"] == [
        {"seq": 2, "type": "todo.created", "aggregate_type": "todo", "aggregate_id": "7"}
    ]
    answer = batch.json()
    assert [item["status"] for item in answer["results"]] == ["recorded", "duplicate", "conflict"]
    assert answer["count"] == 3 and answer["recorded"] == 1
    assert (
        IngestBatchOut.model_validate(answer).model_dump(mode="json", exclude_none=True) == answer
    )


async def test_a_replayed_message_is_answered_200(container, client):
    stub = StubIngest(IngestResult(recorded(1), replayed=True))
    with container.ingest_service.override(providers.Object(stub)):
        response = await client.post("/api/v1/ingest/message", json={"text": "again"})
    assert response.status_code == 200 and response.json()["seq"] == 1


def test_no_route_dependency_runs_in_the_thread_pool():
    """FastAPI runs a plain-callable dependency in a worker thread, one hop per request:
    the services' markers (app/api/wiring.py) are awaited instead."""

    def calls(dependant):
        for sub in dependant.dependencies:
            yield sub.call
            yield from calls(sub)

    routers = [
        router
        for module in ROUTE_MODULES
        for router in (module.router, getattr(module, "api_router", None))
        if router
    ]
    routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
    found = {(route.path, call) for route in routes for call in calls(route.dependant)}
    assert ("/ingest/message", AsyncProvide) in {(path, type(call)) for path, call in found}
    blocking = [
        (path, call)
        for path, call in found
        if not (
            inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(type(call).__call__)
        )
    ]
    assert blocking == []
