"""calls.callback: a callback's contact details and its rings of the customer.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for calls written before: none of them was a callback.
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("callback", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("callback")
