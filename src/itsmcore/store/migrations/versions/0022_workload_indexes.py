"""A team's workload from indexes: demands by team, state and assignee; the breached clocks alone

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_BREACHED = sa.text("breached_at IS NOT NULL")


def upgrade() -> None:
    op.drop_index(op.f("ix_demands_team_state"), table_name="demands")
    op.create_index(op.f("ix_demands_team_state_assignee"), "demands", ["team", "state", "assignee"], unique=False)
    op.create_index(
        "ix_service_level_clocks_breached_demand_id",
        "service_level_clocks",
        ["demand_id"],
        unique=False,
        sqlite_where=_BREACHED,
        postgresql_where=_BREACHED,
    )


def downgrade() -> None:
    op.drop_index("ix_service_level_clocks_breached_demand_id", table_name="service_level_clocks")
    op.drop_index(op.f("ix_demands_team_state_assignee"), table_name="demands")
    op.create_index(op.f("ix_demands_team_state"), "demands", ["team", "state"], unique=False)
