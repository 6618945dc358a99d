"""The search index: `search_objects` (todos, notes, tracks, decisions) and
`search_messages` (the messages of the log), filled from what the database holds.

SQLite: two FTS5 virtual tables with the `ascii` tokenizer, the messages' contentless and
without their lengths (infrastructure/sqlite/search.py says why). PostgreSQL: two tables
with a tsvector `document` each under a GIN index (infrastructure/postgres/search.py).
Both are read models: filled here from the read-model tables and the log as
`make rebuild` fills them.

Revision ID: 20261207_0009
Revises: 20261207_0008
Create Date: 2026-12-07
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

from domain.search_index import decision_entry, note_entry, todo_entry, track_entry

revision: str = "20261207_0009"
down_revision: str | None = "20261207_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQS_PER_PAGE = 50_000

_SQLITE = [
    "CREATE VIRTUAL TABLE search_objects USING fts5(title, body, kind UNINDEXED, "
    "number UNINDEXED, status UNINDEXED, shown_title UNINDEXED, shown_body UNINDEXED, "
    "tokenize = 'ascii')",
    "CREATE VIRTUAL TABLE search_messages USING fts5(body, content = '', columnsize = 0, "
    "tokenize = 'ascii')",
]


# The columns each object's entry is made of, as they are at this revision.
_OBJECTS = {
    "todos": ("number, title, description, tags, status", todo_entry),
    "notes": ("number, title, content, tags, status", note_entry),
    "tracks": ("number, title, description, status", track_entry),
    "decisions": ("number, title, rationale, outcome, options, status", decision_entry),
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _create_postgres()
    else:
        for statement in _SQLITE:
            op.execute(statement)
    _fill(bind)


def downgrade() -> None:
    op.drop_table("search_messages")
    op.drop_table("search_objects")


def _create_postgres() -> None:
    op.create_table(
        "search_objects",
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("document", TSVECTOR, nullable=False),
    )
    op.create_index("ix_search_objects_document", "search_objects", ["document"],
                    postgresql_using="gin")
    op.create_table(
        "search_messages",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("document", TSVECTOR, nullable=False),
    )
    op.create_index("ix_search_messages_document", "search_messages", ["document"],
                    postgresql_using="gin")


def _fill(bind: sa.Connection) -> None:
    """The objects from their read-model rows, the messages from the log, a window of seq
    at a time, each as the live path indexes it."""
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        from infrastructure.postgres import search
    else:
        from infrastructure.sqlite import search  # type: ignore[no-redef]
    entries = []
    for table, (columns, entry_from) in _OBJECTS.items():
        for row in bind.execute(sa.text(f"SELECT {columns} FROM {table}")):
            entry = entry_from(*[_list(value) if name in ("tags", "options") else value
                                 for name, value in row._mapping.items()])
            if entry is not None:
                entries.append(search.object_values(entry))
    if entries:
        if postgres:
            bind.execute(search.PUT, entries)
        else:
            bind.exec_driver_sql(search.PUT, entries)
    head = bind.execute(sa.text("SELECT coalesce(max(seq), 0) FROM events")).scalar() or 0
    for after in range(0, head, _SEQS_PER_PAGE):
        upto = after + _SEQS_PER_PAGE
        if postgres:
            found = bind.execute(search.MESSAGES, {"after": after, "upto": upto})
            if (rows := search.stored_message_rows(found))["seqs"]:
                bind.execute(search.INSERT_MESSAGES, rows)
        else:
            found = bind.exec_driver_sql(search.SELECT_MESSAGES, (after, upto))
            if rows := search.stored_message_rows(found):
                bind.exec_driver_sql(search.INSERT_MESSAGE, rows)



def _list(value: Any) -> list[str]:
    """A JSON column as SQLite (text) or asyncpg (jsonb, as text) hands it over raw."""
    return value if isinstance(value, list) else json.loads(value)
