"""Call history, event log, agents, recordings and the notification outbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("app_id", sa.String(32), primary_key=True),
        sa.Column("call_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(32)),
        sa.Column("original_queue", sa.String(32)),
        sa.Column("customer_id", sa.String(32)),
        sa.Column("customer_name", sa.String(64)),
        sa.Column("agent_id", sa.String(32)),
        sa.Column("type", sa.Integer),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("joined_at", sa.Float, nullable=False),
        sa.Column("offered_at", sa.Float),
        sa.Column("answered_at", sa.Float),
        sa.Column("ended_at", sa.Float),
        sa.Column("wrap_up_ended_at", sa.Float),
        sa.Column("wait", sa.Float),
        sa.Column("talk", sa.Float),
        sa.Column("hold", sa.Float),
        sa.Column("wrap_up", sa.Float),
        sa.Column("original_position", sa.Integer),
        sa.Column("final_position", sa.Integer),
        sa.Column("ring_attempts", sa.Integer, nullable=False),
        sa.Column("attempts", sa.JSON),
        sa.Column("outcome", sa.String(16)),
        sa.Column("end_reason", sa.String(32)),
        sa.Column("ended_by", sa.String(16)),
        sa.Column("disposition", sa.String(64)),
        sa.Column("notes", sa.Text),
        sa.Column("rating", sa.Integer),
        sa.Column("recorded", sa.Boolean, nullable=False),
        sa.Column("attributes", sa.JSON),
    )
    op.create_index("ix_calls_app_joined", "calls", ["app_id", "joined_at"])
    op.create_index("ix_calls_app_agent", "calls", ["app_id", "agent_id", "joined_at"])
    op.create_index("ix_calls_open", "calls", ["node", "ended_at"])
    op.create_table(
        "call_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(64)),
        sa.Column("user_id", sa.String(32)),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_index("ix_call_events_call", "call_events", ["app_id", "call_id", "id"])
    op.create_index("ix_call_events_app_at", "call_events", ["app_id", "at"])
    op.create_table(
        "agents",
        sa.Column("app_id", sa.String(32), primary_key=True),
        sa.Column("agent_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("queues", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "recordings",
        sa.Column("app_id", sa.String(32), primary_key=True),
        sa.Column("call_id", sa.String(64), primary_key=True),
        sa.Column("file", sa.String(255), nullable=False),
        sa.Column("duration", sa.Float),
        sa.Column("size", sa.Integer),
        sa.Column("sha256", sa.String(64)),
        sa.Column("partial", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("app_id", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("delivered_at", sa.Float),
        sa.Column("failed_at", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("channel", "key", name="uq_outbox_channel_key"),
    )
    op.create_index("ix_outbox_due", "outbox", ["delivered_at", "failed_at", "next_attempt_at"])


def downgrade() -> None:
    for table in ("outbox", "recordings", "agents", "call_events", "calls"):
        op.drop_table(table)
