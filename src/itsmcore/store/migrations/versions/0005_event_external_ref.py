"""journey events carry an optional external reference, unique across the store

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A unique index rather than a constraint: SQLite adds it without rebuilding the table,
    # and both databases let any number of rows leave it NULL.
    op.add_column("journey_events", sa.Column("external_ref", sa.String(length=512), nullable=True))
    op.create_index(op.f("ix_journey_events_external_ref"), "journey_events", ["external_ref"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_journey_events_external_ref"), table_name="journey_events")
    with op.batch_alter_table("journey_events") as batch:
        batch.drop_column("external_ref")
