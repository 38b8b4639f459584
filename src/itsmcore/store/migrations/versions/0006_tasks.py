"""human task steps of a plan (order, ship, install), with the milestones reached so far

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("milestones", sa.JSON(), nullable=False),
        sa.Column("assignee", sa.String(length=128), nullable=True),
        sa.Column("expected", sa.Text(), nullable=False),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], name=op.f("fk_tasks_demand_id_demands")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(op.f("ix_tasks_demand_id_step"), "tasks", ["demand_id", "step"], unique=True)
    op.create_index(op.f("ix_tasks_state_team"), "tasks", ["state", "team"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_tasks_state_team"), table_name="tasks")
    op.drop_index(op.f("ix_tasks_demand_id_step"), table_name="tasks")
    op.drop_table("tasks")
