"""the regulator's own request for a correction, kept on the filing it asks about

Revision ID: filings_0002
Revises: filings_0001
Create Date: 2026-11-24 22:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "filings_0002"
down_revision: str | None = "filings_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("filings_filing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("correction_request", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("filings_filing", schema=None) as batch_op:
        batch_op.drop_column("correction_request")
