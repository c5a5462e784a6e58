"""ledger: trades and meter blocks

Revision ID: ledger_0001
Revises:
Create Date: 2026-11-24 20:45:12.248766
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "ledger_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "ledger_meter_block",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("discom", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("meter", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("block_start", sa.DateTime(), nullable=False),
        sa.Column("export_kwh", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("import_kwh", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("quality", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "meter", "block_start", "version", name="uq_ledger_meter_block_version"
        ),
    )
    with op.batch_alter_table("ledger_meter_block", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_meter_block_current", ["meter", "block_start", "current"], unique=False
        )
        batch_op.create_index(
            "ix_ledger_meter_block_discom", ["discom", "block_start"], unique=False
        )

    op.create_table(
        "ledger_trade",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("trade_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("block_start", sa.DateTime(), nullable=False),
        sa.Column("seller", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("buyer", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("seller_meter", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("buyer_meter", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("quantity_kwh", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("price_inr_per_kwh", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("jurisdiction", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("policy_decision", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("contract", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "trade_id", name="uq_ledger_trade_platform_trade"),
    )
    with op.batch_alter_table("ledger_trade", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_trade_block", ["jurisdiction", "block_start"], unique=False
        )
        batch_op.create_index("ix_ledger_trade_buyer", ["buyer", "block_start"], unique=False)
        batch_op.create_index("ix_ledger_trade_seller", ["seller", "block_start"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("ledger_trade", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_trade_seller")
        batch_op.drop_index("ix_ledger_trade_buyer")
        batch_op.drop_index("ix_ledger_trade_block")

    op.drop_table("ledger_trade")
    with op.batch_alter_table("ledger_meter_block", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_meter_block_discom")
        batch_op.drop_index("ix_ledger_meter_block_current")

    op.drop_table("ledger_meter_block")
