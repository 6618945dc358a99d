"""Events keep payload and metadata as the canonical JSON text their hash covers (TEXT).

On PostgreSQL the two columns were JSONB, which keeps a number as a `numeric`, not as the
text it was given: what the hash covered as `1e+16` read back as the integer
10000000000000000, `1.5e+300` as a 301-digit integer, `-0.0` as `0.0`. Such an event
could never verify again. Now both columns are TEXT holding `domain.chain.canonical_json`
of the value, the very text that was hashed, as on SQLite (whose JSON columns always held
that text: nothing to do there).

Upgrade, PostgreSQL: the columns become TEXT (`jsonb::text`, which has spaces and JSONB's
key order), then every row is rewritten, page by page, to the canonical text of its
value. Where that text does not hash to the row's recorded hash, the numbers JSONB may
have normalised are tried the other way: an integer of 16 digits or more that is a
float's shortest spelling (`Decimal(repr(float(n))) == n`) may have been that float,
and a float zero may have been -0.0. (Other numbers come back as themselves: JSONB
writes 1e-07 as 0.0000001 and 5e-324 in full, which parse to the same float; 123.0
keeps its ".0".) Up to 4096 combinations per row; one that hashes to the recorded hash is
provably the text that was sealed, and is stored. A row that matches none is left as it
is, for `make verify` to report.

Downgrade, PostgreSQL: back to JSONB (`payload::jsonb`). That normalises numbers again:
events holding such numbers will no longer verify.

Revision ID: 20261206_0006
Revises: 20261126_0005
Create Date: 2026-12-06
"""

import hashlib
import itertools
import json
import logging
import math
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

from domain.chain import canonical_json, event_hash, iso_utc
from infrastructure.sealing import sealed_text

revision: str = "20261206_0006"
down_revision: str | None = "20261126_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

PAGE = 2000
MAX_COMBINATIONS = 4096
# Python spells a float in exponent form (what JSONB turns into an integer) from 1e16 on.
_EXPONENT_FORM_FROM = 10**16

_SELECT = sa.text(
    "SELECT seq, event_id, type, aggregate_type, aggregate_id, payload, metadata, "
    "idempotency_key, occurred_at, recorded_at, schema_version, prev_hash, hash "
    "FROM events WHERE seq > :after ORDER BY seq LIMIT :limit")
_UPDATE = sa.text(
    "UPDATE events AS e SET payload = u.payload, metadata = u.metadata "
    "FROM unnest(CAST(:seqs AS bigint[]), CAST(:payloads AS text[]), "
    "CAST(:metadatas AS text[])) AS u(seq, payload, metadata) WHERE e.seq = u.seq")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's columns already hold the canonical text
    for column in ("payload", "metadata"):
        op.execute(f"ALTER TABLE events ALTER COLUMN {column} TYPE TEXT USING {column}::text")
    # The events table refuses every UPDATE (trigger events_reject_update_delete,
    # migration 20261126_0001). This rewrite changes no event: each row it writes holds
    # the text its own recorded hash covers (checked below, row by row), so every hash
    # stays as it was and the chain verifies where it did and where JSONB had broken it.
    # Migrations run as the table's owner, who may disable its triggers (only the
    # service's role, which does not own the table, is really held by them). The trigger
    # is disabled for the rewrite and enabled again in this same transaction (alembic runs
    # each migration in one transaction, and PostgreSQL's DDL is transactional): no other
    # session ever sees the table without it, and a failure rolls both back.
    op.execute("ALTER TABLE events DISABLE TRIGGER events_reject_update_delete")
    counts = _rewrite(op.get_bind())
    op.execute("ALTER TABLE events ENABLE TRIGGER events_reject_update_delete")
    log.info("events as canonical text: %d rows respelled, %d repaired (numbers JSONB had "
             "normalised), %d left as they were (they do not match their hash: make verify "
             "will name them)", counts["respelled"], counts["repaired"], counts["unmatched"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in ("payload", "metadata"):
        op.execute(f"ALTER TABLE events ALTER COLUMN {column} TYPE JSONB USING {column}::jsonb")


def _rewrite(conn: sa.Connection) -> dict[str, int]:
    counts = {"respelled": 0, "repaired": 0, "unmatched": 0}
    after = 0
    while rows := conn.execute(_SELECT, {"after": after, "limit": PAGE}).all():
        after = rows[-1].seq
        changed: list[tuple[int, str, str]] = []
        for row in rows:
            outcome, texts = _sealed_texts(row)
            counts[outcome] += 1
            if texts is not None and texts != (row.payload, row.metadata):
                changed.append((row.seq, *texts))
        if changed:
            seqs, payloads, metadatas = (list(column) for column in zip(*changed, strict=True))
            conn.execute(_UPDATE, {"seqs": seqs, "payloads": payloads, "metadatas": metadatas})
    return counts


def _sealed_texts(row: Any) -> tuple[str, tuple[str, str] | None]:
    """What to store for a row: ("respelled" or "repaired", (payload, metadata) texts
    that hash to its recorded hash), or ("unmatched", None)."""
    try:
        payload, metadata = json.loads(row.payload), json.loads(row.metadata)
    except ValueError:  # (an integer past Python's 4300 digits: never appended)
        return "unmatched", None
    texts = canonical_json(payload), canonical_json(metadata)
    # What event_hash hashes, from the texts at hand (most rows end here).
    sealed = sealed_text(row.seq, row.event_id, row.type, row.aggregate_type,
                         row.aggregate_id, *texts, row.idempotency_key,
                         iso_utc(row.occurred_at), iso_utc(row.recorded_at),
                         row.schema_version, row.prev_hash)
    if hashlib.sha256(sealed.encode()).hexdigest() == row.hash:
        return "respelled", texts
    sites = list(_sites(("payload",), payload)) + list(_sites(("metadata",), metadata))
    content = {"payload": payload, "metadata": metadata}
    for chosen in itertools.islice(_subsets(len(sites)), MAX_COMBINATIONS):
        variant = content
        for index in chosen:
            path, other = sites[index]
            variant = _replaced(variant, path, other)
        if _hash(row, variant["payload"], variant["metadata"]) == row.hash:
            return "repaired", (canonical_json(variant["payload"]),
                                canonical_json(variant["metadata"]))
    return "unmatched", None


def _hash(row: Any, payload: Any, metadata: Any) -> str:
    return event_hash(
        seq=row.seq, event_id=row.event_id, type=row.type, aggregate_type=row.aggregate_type,
        aggregate_id=row.aggregate_id, payload=payload, metadata=metadata,
        idempotency_key=row.idempotency_key, occurred_at=row.occurred_at,
        recorded_at=row.recorded_at, schema_version=row.schema_version,
        prev_hash=row.prev_hash)


def _sites(path: tuple[Any, ...], value: Any) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, the number it may have been) for each number JSONB may have normalised."""
    kind = value.__class__
    if kind is dict:
        for key, item in value.items():
            yield from _sites((*path, key), item)
    elif kind is list:
        for index, item in enumerate(value):
            yield from _sites((*path, index), item)
    elif kind is float:
        if value == 0.0 and math.copysign(1.0, value) > 0:
            yield path, -0.0
    elif kind is int and abs(value) >= _EXPONENT_FORM_FROM:
        try:
            as_float = float(value)
        except OverflowError:
            return
        if Decimal(repr(as_float)) == value:  # JSONB's spelling of that float
            yield path, as_float


def _subsets(size: int) -> Iterator[tuple[int, ...]]:
    """Every non-empty subset of range(size), fewest first."""
    for count in range(1, size + 1):
        yield from itertools.combinations(range(size), count)


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of `value` with the item at `path` replaced (copying only along the path)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(value) if value.__class__ is dict else list(value)
    copy[head] = _replaced(value[head], rest, new)
    return copy
