"""app_settings and audit_log: the settings administered while the server runs, and their changes.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No rows: each app's settings are seeded from the config file at the next start.
    op.create_table(
        "app_settings",
        sa.Column("app_id", sa.String(32), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.String(32), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("actor", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.create_index("ix_audit_log_app", "audit_log", ["app_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_app", "audit_log")
    op.drop_table("audit_log")
    op.drop_table("app_settings")
