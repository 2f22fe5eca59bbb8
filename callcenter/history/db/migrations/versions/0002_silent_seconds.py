"""calls.silent_seconds: the answered seconds in which a participant received no media.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: calls written before this revision did not measure it (NULL is
    # "unknown", not "no silence").
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("silent_seconds", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("silent_seconds")
