"""Planned changes and each approver's decision on them

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "planned_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("risk", sa.String(length=16), nullable=False),
        sa.Column("customer_impact", sa.Boolean(), nullable=False),
        sa.Column("approvers", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("announcements", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_changes")),
    )
    op.create_index(
        op.f("ix_planned_changes_window_start_window_end"),
        "planned_changes",
        ["window_start", "window_end"],
        unique=False,
    )
    op.create_table(
        "change_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("approver", sa.String(length=128), nullable=False),
        sa.Column("on_behalf_of", sa.String(length=128), nullable=True),
        sa.Column("decided_for", sa.String(length=128), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["planned_changes.id"],
            name=op.f("fk_change_decisions_change_id_planned_changes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_decisions")),
    )
    op.create_index(
        op.f("ix_change_decisions_change_id_decided_for"),
        "change_decisions",
        ["change_id", "decided_for"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_change_decisions_change_id_decided_for"), table_name="change_decisions")
    op.drop_table("change_decisions")
    op.drop_index(op.f("ix_planned_changes_window_start_window_end"), table_name="planned_changes")
    op.drop_table("planned_changes")
