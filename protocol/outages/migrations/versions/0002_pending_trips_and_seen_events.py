"""pending trips (inside the momentary window) and feeder-status event ids seen

Revision ID: outages_0002
Revises: outages_0001
Create Date: 2026-11-24 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "outages_0002"
down_revision: str | None = "outages_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outage_pending_trip",
        sa.Column("feeder", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("notice_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("downstream", sa.JSON(), nullable=False),
        sa.Column("detected_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("estimated_restoration", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("feeder"),
    )
    op.create_table(
        "outage_seen_event",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("outage_seen_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outage_seen_event_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outage_seen_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outage_seen_event_at"))
    op.drop_table("outage_seen_event")
    op.drop_table("outage_pending_trip")
