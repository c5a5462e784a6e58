"""the filings inbox: every version of every filing, with its decision

Revision ID: filings_0001
Revises:
Create Date: 2026-11-24 20:47:45.272357
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "filings_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "filings_filing",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("docket", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("licensee", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("jurisdiction", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("filing_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("filing_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("financial_year", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("supersedes", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("superseded_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("submission_digest", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("atc_loss_pct", sa.Float(), nullable=False),
        sa.Column("feeders", sa.JSON(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("submission", sa.JSON(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("licensee", "filing_ref", name="uq_filings_filing_licensee_ref"),
    )
    with op.batch_alter_table("filings_filing", schema=None) as batch_op:
        batch_op.create_index("ix_filings_filing_docket", ["docket", "version"], unique=False)
        batch_op.create_index("ix_filings_filing_scope", ["jurisdiction", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("filings_filing", schema=None) as batch_op:
        batch_op.drop_index("ix_filings_filing_scope")
        batch_op.drop_index("ix_filings_filing_docket")

    op.drop_table("filings_filing")
