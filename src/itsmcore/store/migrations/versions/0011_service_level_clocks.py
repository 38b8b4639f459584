"""service-level clocks: first response and resolution targets per demand, in working time

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_level_clocks",
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("calendar", sa.String(length=64), nullable=False),
        sa.Column("target_secs", sa.Float(), nullable=False),
        sa.Column("warn_share", sa.Float(), nullable=False),
        sa.Column("service_key", sa.String(length=128), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("paused_for", sa.String(length=16), nullable=True),
        sa.Column("elapsed", sa.Float(), nullable=False),
        sa.Column("running_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], name=op.f("fk_service_level_clocks_demand_id_demands")),
        sa.PrimaryKeyConstraint("demand_id", "metric", name=op.f("pk_service_level_clocks")),
    )
    op.create_index(
        op.f("ix_service_level_clocks_state_due_at"), "service_level_clocks", ["state", "due_at"], unique=False
    )
    op.create_index(
        op.f("ix_service_level_clocks_state_warn_at"), "service_level_clocks", ["state", "warn_at"], unique=False
    )
    op.create_index(op.f("ix_service_level_clocks_started_at"), "service_level_clocks", ["started_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_service_level_clocks_started_at"), table_name="service_level_clocks")
    op.drop_index(op.f("ix_service_level_clocks_state_warn_at"), table_name="service_level_clocks")
    op.drop_index(op.f("ix_service_level_clocks_state_due_at"), table_name="service_level_clocks")
    op.drop_table("service_level_clocks")
