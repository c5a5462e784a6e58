"""protocol: page cursors a data provider has served (each pulls its page once)

Revision ID: protocol_0002
Revises: protocol_0001
Create Date: 2026-11-26 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "protocol_0002"
down_revision: str | None = "protocol_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "protocol_page_cursor",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("cursor_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("requester", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("transaction_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("provider", "cursor_digest", name="uq_protocol_page_cursor"),
    )


def downgrade() -> None:
    op.drop_table("protocol_page_cursor")
