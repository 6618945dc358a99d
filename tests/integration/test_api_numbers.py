"""Numbers through the API, on SQLite and PostgreSQL: every finite number it accepts is
stored as `canonical_json` spells it and returned as that same value, and the chain still
verifies; what it cannot store is refused with 422 and stores nothing.

(The response's own JSON is pydantic's: it spells 1e-07 as 1e-7, the same double. What is
byte for byte is the stored text the hash covers.)"""

from __future__ import annotations

import json

import pytest

from domain.chain import canonical_json

PROBLEM = "application/problem+json"

# (as sent in the body, the value it stands for)
ACCEPTED = [
    ("1e16", 1e16),
    ("-0.0", -0.0),
    ("1.5e300", 1.5e300),
    ("12345678901234567890.0", 12345678901234567890.0),
    (str(2**70), 2**70),
    ("5e-324", 5e-324),
    ("1e-7", 1e-7),
    ("-1e16", -1e16),
    ("1" * 4000, int("1" * 4000)),
    ("-" + "9" * 4299, -int("9" * 4299)),  # the parser counts the sign
]


def body(number_text: str) -> str:
    n = number_text
    return f'{{"text": "a number", "metadata": {{"x": {n}, "in": [{n}, {{"y": {n}}}]}}}}'


def nested(depth: int) -> str:
    return f'{{"text": "deep", "metadata": {{"x": {"[" * depth}1{"]" * depth}}}}}'


async def post(client, content: str):
    return await client.post(
        "/api/v1/ingest/message", content=content, headers={"Content-Type": "application/json"}
    )


async def count_events(container) -> int:
    return (await container.event_log().head()).count


async def test_every_accepted_number_reads_back_as_stored_and_the_chain_verifies(client, container):
    for sent, value in ACCEPTED:
        response = await post(client, body(sent))
        assert response.status_code == 201, (sent[:30], response.text[:300])
        seq = response.json()["seq"]

        got = await client.get(f"/api/v1/events/{seq}")
        assert got.status_code == 200
        expected = {"x": value, "in": [value, {"y": value}]}
        returned = got.json()["metadata"]["client"]
        # canonical_json tells -0.0 from 0.0, and 1e16 (a float) from 10**16.
        assert canonical_json(returned) == canonical_json(expected), sent[:30]
        page = (await client.get(f"/api/v1/events?after_seq={seq - 1}&limit=1")).json()
        assert canonical_json(page["items"][0]["metadata"]["client"]) == canonical_json(expected)

    assert await count_events(container) == len(ACCEPTED)
    for report in (
        await container.event_log().verify(),
        await container.chain_verification().verify(),
    ):
        assert report.intact, report.problem
        assert report.count == len(ACCEPTED)


@pytest.mark.parametrize(
    "content, why",
    [
        (body("1" * 5000), "4300 digits"),
        (body("-" + "9" * 4300), "4300 digits"),
        (body("1e400"), "finite"),
        (body("-1e400"), "finite"),
        (body("NaN"), "finite"),
        (nested(17), "16 levels"),
        (nested(300), "16 levels"),  # past pydantic's parser's own limit (200)
    ],
)
async def test_what_cannot_be_stored_is_refused_with_422_and_stores_nothing(
    client, container, content, why
):
    response = await post(client, content)
    assert response.status_code == 422, response.text[:300]
    assert why in response.json()["detail"]
    assert response.headers["content-type"] == PROBLEM
    assert await count_events(container) == 0
    # And the same refusal inside a batch: nothing of the batch is stored.
    batch = '{"messages": [{"text": "fine"}, ' + content + "]}"
    response = await client.post(
        "/api/v1/ingest/batch", content=batch, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text[:300]
    assert await count_events(container) == 0


async def test_a_5000_digit_integer_is_not_even_sent_by_pythons_json():
    # Why the tests above spell bodies by hand: the client's own json.dumps refuses it.
    with pytest.raises(ValueError):
        json.dumps({"x": int("1" * 5000)})
