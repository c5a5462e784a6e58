"""the decision log

Revision ID: policy_packs_0001
Revises:
Create Date: 2026-11-24 17:36:50
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "policy_packs_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_decision",
        # BIGINT on PostgreSQL; SQLite auto-increments only an INTEGER PRIMARY KEY.
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("jurisdiction", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("domain", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("allow", sa.Boolean(), nullable=False),
        sa.Column("violations", sa.JSON(), nullable=False),
        sa.Column("pack_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("pack_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("pack_jurisdiction", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("pack_digest", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("input_digest", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("engine", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("policy_decision", schema=None) as batch_op:
        batch_op.create_index("ix_policy_decision_input_digest", ["input_digest"], unique=False)
        batch_op.create_index("ix_policy_decision_reference", ["reference"], unique=False)
        batch_op.create_index(
            "ix_policy_decision_scope", ["jurisdiction", "domain", "seq"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("policy_decision", schema=None) as batch_op:
        batch_op.drop_index("ix_policy_decision_scope")
        batch_op.drop_index("ix_policy_decision_reference")
        batch_op.drop_index("ix_policy_decision_input_digest")
    op.drop_table("policy_decision")
