"""teams and assignment: the agent working on a demand, team queues, round robin's turns

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("demands") as batch:
        batch.add_column(sa.Column("assignee", sa.String(length=128), nullable=True))
    op.create_index(op.f("ix_demands_team_state"), "demands", ["team", "state"], unique=False)
    op.create_index(op.f("ix_demands_assignee_state"), "demands", ["assignee", "state"], unique=False)
    op.create_table(
        "team_turns",
        sa.Column("team", sa.String(length=128), nullable=False),
        sa.Column("turn", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("team", name=op.f("pk_team_turns")),
    )


def downgrade() -> None:
    op.drop_table("team_turns")
    op.drop_index(op.f("ix_demands_assignee_state"), table_name="demands")
    op.drop_index(op.f("ix_demands_team_state"), table_name="demands")
    with op.batch_alter_table("demands") as batch:
        batch.drop_column("assignee")
