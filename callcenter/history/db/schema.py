"""The tables. Times are epoch seconds (floats), as everywhere else in callcenter.

Changing a table means a new Alembic revision in ``migrations/versions`` as well.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# One row per call: queue calls (a customer through a queue) and direct calls (TUICalling 1:1 and
# group calls). Written when the call starts, updated as it goes, closed when it ends; a row left
# open by a server that died is closed when that server (``node``) starts again.
calls = Table(
    "calls", metadata,
    Column("app_id", String(32), primary_key=True),
    Column("call_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # queue | direct
    Column("node", String(64), nullable=False),
    Column("queue", String(32)),
    Column("original_queue", String(32)),
    Column("customer_id", String(32)),  # the customer, or the caller of a direct call
    Column("customer_name", String(64)),
    Column("agent_id", String(32)),  # the agent who answered, or the direct call's callee
    Column("type", Integer),  # 1 audio, 2 video
    Column("priority", Integer, nullable=False, default=0),
    Column("joined_at", Float, nullable=False),
    Column("offered_at", Float),
    Column("answered_at", Float),
    Column("ended_at", Float),
    Column("wrap_up_ended_at", Float),
    Column("wait", Float),  # seconds in queue (to answer, or to the end if never answered)
    Column("talk", Float),
    Column("hold", Float),  # seconds on hold or waiting for a transfer's target
    Column("wrap_up", Float),  # seconds from the end of the call to the end of wrap-up
    Column("original_position", Integer),
    Column("final_position", Integer),
    Column("ring_attempts", Integer, nullable=False, default=0),
    Column("attempts", JSON),  # [{agent, offeredAt, endedAt, outcome}]
    # completed | abandoned | timed_out | no_agents | interrupted (direct: answered | unanswered)
    Column("outcome", String(16)),
    Column("end_reason", String(32)),
    Column("ended_by", String(16)),  # customer | agent | system
    Column("disposition", String(64)),
    Column("notes", Text),
    Column("rating", Integer),
    Column("recorded", Boolean, nullable=False, default=False),
    # Of the answered seconds, those in which a participant received no media (revision 0002;
    # NULL for calls written before it).
    Column("silent_seconds", Float),
    Column("attributes", JSON),
    # [{kind: talk|hold|transfer, start, end, ...}] (revision 0004; NULL for calls before it)
    Column("segments", JSON),
    # {contact, requestedAt, position, attempts} of a callback (revision 0005; NULL: none)
    Column("callback", JSON),
    Index("ix_calls_app_joined", "app_id", "joined_at"),
    Index("ix_calls_app_agent", "app_id", "agent_id", "joined_at"),
    Index("ix_calls_open", "node", "ended_at"),
)

# Append-only, like Asterisk's queue_log: every call, queue and agent event.
call_events = Table(
    "call_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", String(32), nullable=False),
    Column("call_id", String(64)),
    Column("user_id", String(32)),
    Column("name", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_call_events_call", "app_id", "call_id", "id"),
    Index("ix_call_events_app_at", "app_id", "at"),
)

# The agents as configured, kept so history keeps their names after they leave the config.
agents = Table(
    "agents", metadata,
    Column("app_id", String(32), primary_key=True),
    Column("agent_id", String(32), primary_key=True),
    Column("name", String(64), nullable=False, default=""),
    Column("queues", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),  # still in the config
    Column("updated_at", Float, nullable=False),
)

recordings = Table(
    "recordings", metadata,
    Column("app_id", String(32), primary_key=True),
    Column("call_id", String(64), primary_key=True),
    Column("file", String(255), nullable=False),
    Column("duration", Float),
    Column("size", Integer),
    Column("sha256", String(64)),
    Column("partial", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
)

# Notifications to deliver at least once (webhooks, email): a delivery survives a restart.
outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),  # the plugin and its target, e.g. webhook:crm
    Column("key", String(128), nullable=False),  # the idempotency key
    Column("app_id", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("delivered_at", Float),
    Column("failed_at", Float),  # gave up after the last attempt
    Column("last_error", Text),
    UniqueConstraint("channel", "key", name="uq_outbox_channel_key"),
    Index("ix_outbox_due", "delivered_at", "failed_at", "next_attempt_at"),
)

# The administered settings of each app (agents, supervisors, queues, dispositions, break
# reasons: config.ADMINISTERED) as one JSON document, seeded from the config file when the app
# has no row yet. Checked and replaced as a whole, because its parts refer to each other (an
# agent's queues); `revision` goes up by one with each change, and every server process sharing
# the database reads it on its tick to take a newer one (revision 0003).
app_settings = Table(
    "app_settings", metadata,
    Column("app_id", String(32), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Every change of the administered settings: who (the admin's user id), what (create, update or
# delete of one agent, supervisor, queue, disposition or break reason), when, and the item
# before and after (password hashes never: only whether one is set or changed). Append-only.
audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Column("actor", String(32), nullable=False),
    Column("action", String(16), nullable=False),  # create | update | delete
    Column("kind", String(16), nullable=False),  # agents | supervisors | queues | dispositions...
    Column("target", String(32), nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Column("revision", Integer, nullable=False),  # the settings' revision this change made
    Index("ix_audit_log_app", "app_id", "id"),
)
