"""The P2P market's onboarded prosumers, and when each cleared block was fully posted

Revision ID: market_0003
Revises: market_0002
Create Date: 2026-11-25 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "market_0003"
down_revision: str | None = "market_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "market_prosumer",
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("customer", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("meter", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("discom", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("sanctioned_load_kw", sa.Float(), nullable=False),
        sa.Column("der_capacity_kw", sa.Float(), nullable=False),
        sa.Column("metering_scheme", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("export_basis", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("der_ids", sa.JSON(), nullable=False),
        sa.Column("permission", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("onboarded_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("holder"),
    )
    op.create_index("ix_market_prosumer_customer", "market_prosumer", ["customer"], unique=False)
    op.add_column("market_block", sa.Column("posted_at", sa.DateTime(), nullable=True))
    # The blocks recorded before this revision were recorded after their postings.
    op.execute("UPDATE market_block SET posted_at = cleared_at")


def downgrade() -> None:
    with op.batch_alter_table("market_block") as batch:
        batch.drop_column("posted_at")
    op.drop_index("ix_market_prosumer_customer", table_name="market_prosumer")
    op.drop_table("market_prosumer")
