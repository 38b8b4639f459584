"""The plugin's own tables, in the deployment's database beside the core's.

The plugin owns its schema: the tables are created when a desk opens on a deployment
with a ``[webhooks]`` table (``CREATE TABLE IF NOT EXISTS``), never by the core's
migrations, so the core's revision chain stays the core's. A later change to these tables
ships as the plugin's own upgrade step, keyed on :data:`SCHEMA_VERSION` kept in
``webhook_schema``. The deliveries themselves are the core's jobs (action
``webhooks.deliver``); these tables hold what the jobs refer to.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)

SCHEMA_VERSION = 1

metadata = MetaData()
TS = DateTime(timezone=True)

schema = Table("webhook_schema", metadata, Column("version", Integer, primary_key=True))

subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("events", JSON, nullable=False),
    Column("services", JSON, nullable=False),
    Column("kinds", JSON, nullable=False),
    Column("secret", String(100), nullable=False),
    Column("previous_secret", String(100)),
    Column("previous_until", TS),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("disabled_reason", Text, nullable=False, default=""),
    Column("source", String(20), nullable=False, default="cli"),
    Column("created_at", TS, nullable=False),
)

#: One event for one subscription. ``state``: waiting (behind an earlier one of its demand),
#: queued (its job is in the outbox), delivered, failed (attempts used up, refused or
#: redirected) or cancelled (the subscription was disabled first).
messages = Table(
    "webhook_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=False),
    Column("demand_id", Integer),
    Column("event_type", String(60), nullable=False),
    Column("msg_id", String(60), nullable=False, unique=True),
    Column("body", Text, nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("job_id", Integer),
    Column("last_status", Integer),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", TS, nullable=False),
    Column("finished_at", TS),
    Index("ix_webhook_messages_chain", "subscription_id", "demand_id", "state"),
)

#: The delivery log: one row per attempt.
attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", Integer, ForeignKey("webhook_messages.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("at", TS, nullable=False),
    Column("status", Integer),
    Column("error", Text, nullable=False, default=""),
    Column("response", Text, nullable=False, default=""),
    Column("duration_ms", Integer, nullable=False, default=0),
)


def create(engine: Engine) -> None:
    """Create the tables that are missing and record the schema version (idempotent)."""
    metadata.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        if conn.execute(select(schema.c.version)).first() is None:
            conn.execute(insert(schema).values(version=SCHEMA_VERSION))
