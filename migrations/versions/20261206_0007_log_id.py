"""Give the log an id (helionyx_meta `log_id`): its digests, kept outside the database,
are filed under it (domain/integrity.py), so a database and its digests find each other
wherever either is copied, and two databases never share digests.

Revision ID: 20261206_0007
Revises: 20261206_0006
Create Date: 2026-12-06
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261206_0007"
down_revision: str | None = "20261206_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_meta = sa.table("helionyx_meta", sa.column("key", sa.String), sa.column("value", sa.String))


def upgrade() -> None:
    found = op.get_bind().execute(
        sa.select(_meta.c.value).where(_meta.c.key == "log_id")).scalar()
    if found is None:
        op.bulk_insert(_meta, [{"key": "log_id", "value": str(uuid.uuid4())}])


def downgrade() -> None:
    op.execute(_meta.delete().where(_meta.c.key == "log_id"))
