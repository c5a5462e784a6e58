"""import jobs name their writer; the token endpoint's used assertion ids

Revision ID: registry_0003
Revises: registry_0002
Create Date: 2026-11-25 03:13:48.266509

``registry_import_job.writer``: a discom reads its own imports' reports only.
``registry_dir_token_jti``: each client assertion's jti is accepted once, by every
directory process sharing the database and across restarts (the primary key refuses
the second use).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "registry_0003"
down_revision: str | None = "registry_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_dir_token_jti",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("registry_dir_token_jti", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_dir_token_jti_expires_at"), ["expires_at"], unique=False
        )
    with op.batch_alter_table("registry_import_job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("writer", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("registry_import_job", schema=None) as batch_op:
        batch_op.drop_column("writer")
    with op.batch_alter_table("registry_dir_token_jti", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_dir_token_jti_expires_at"))
    op.drop_table("registry_dir_token_jti")
