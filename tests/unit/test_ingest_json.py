"""/ingest/batch builds its items' JSON itself, for speed (app/api/routes/ingest.py): it
must be exactly what the declared IngestBatchItemOut says, item by item."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.api.routes.ingest import item_json
from app.api.schemas import EventRef, IngestBatchItemOut, IngestBatchOut
from domain.events import RecordedEvent
from domain.ingest import IngestResult

AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def recorded(
    seq: int,
    type: str = "message.ingested",
    aggregate_type: str = "message",
    aggregate_id: str = "3f1c2a9e-0d4b-4c8e-9a7f-1b2c3d4e5f60",
) -> RecordedEvent:
    return RecordedEvent(
        seq=seq,
        event_id=f"00000000-0000-4000-8000-{seq:012d}",
        type=type,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload={"text": "x"},
        metadata={},
        idempotency_key=None,
        occurred_at=AT,
        recorded_at=AT,
        schema_version=1,
        prev_hash="0" * 64,
        hash=f"{seq:064x}",
    )


PLAIN = IngestResult(recorded(1))
DERIVING = IngestResult(
    recorded(2),
    (recorded(3, "todo.created", "todo", "7"), recorded(4, "note.created", "note", "8")),
)
ITEMS = {
    "recorded": (0, PLAIN, None),
    "recorded, with derived events": (1, DERIVING, None),
    "duplicate": (2, PLAIN._replace(replayed=True), None),
    "duplicate, with derived events": (3, DERIVING._replace(replayed=True), None),
    "conflict": (4, None, "the key names another message"),
    "large seq": (999, IngestResult(recorded(2**63 - 1)), None),
}


def declared(index: int, result: IngestResult | None, error: str | None) -> IngestBatchItemOut:
    """The item as the model spells it, built from the result independently."""
    if result is None:
        return IngestBatchItemOut(index=index, status="conflict", detail=error)
    return IngestBatchItemOut(
        index=index,
        status="duplicate" if result.replayed else "recorded",
        event_id=result.event.event_id,
        seq=result.event.seq,
        derived=[EventRef.model_validate(e, from_attributes=True) for e in result.derived],
    )


@pytest.mark.parametrize("item", ITEMS.values(), ids=ITEMS.keys())
def test_an_item_is_the_declared_models_json(item):
    built = item_json(*item)
    assert built == declared(*item).model_dump(mode="json", exclude_none=True)
    # Nothing the model would drop or convert: validated and dumped, it is unchanged.
    assert (
        IngestBatchItemOut.model_validate(built).model_dump(mode="json", exclude_none=True) == built
    )


def test_a_whole_answer_is_the_declared_models_json():
    results = [item_json(*item) for item in ITEMS.values()]
    answer = {"count": len(results), "recorded": 3, "results": results}
    assert (
        IngestBatchOut.model_validate(answer).model_dump(mode="json", exclude_none=True) == answer
    )
