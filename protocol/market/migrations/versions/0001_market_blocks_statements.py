"""The P2P market's records: cleared blocks and settlement statements

Revision ID: market_0001
Revises:
Create Date: 2026-11-25 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "market_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "market_block",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("price_inr_per_kwh", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("quantity_kwh", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("orders", sa.JSON(), nullable=False),
        sa.Column("trades", sa.JSON(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_market_block_day", "market_block", ["day", "number"], unique=False)
    op.create_table(
        "market_statement",
        sa.Column("day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("party", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("discom", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("net_inr", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("statement", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("settled_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", "party"),
    )
    op.create_index("ix_market_statement_party", "market_statement", ["party"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_market_statement_party", table_name="market_statement")
    op.drop_table("market_statement")
    op.drop_index("ix_market_block_day", table_name="market_block")
    op.drop_table("market_block")
