"""calls.segments: the answered call's timeline (talks, holds, transfers).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for calls written before: they had no holds or transfers to show.
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("segments", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("segments")
