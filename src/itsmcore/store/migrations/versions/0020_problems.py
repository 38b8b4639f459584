"""Problems and known errors, and what each is linked to

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "problems",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("cis", sa.JSON(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("workaround", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("article_key", sa.String(length=128), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(length=128), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problems")),
    )
    op.create_index(op.f("ix_problems_state"), "problems", ["state"], unique=False)
    op.create_table(
        "problem_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=True),
        sa.Column("announcement_id", sa.Integer(), nullable=True),
        sa.Column("other_service", sa.Boolean(), nullable=False),
        sa.Column("linked_by", sa.String(length=128), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"], ["announcements.id"], name=op.f("fk_problem_links_announcement_id_announcements")
        ),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], name=op.f("fk_problem_links_demand_id_demands")),
        sa.ForeignKeyConstraint(["problem_id"], ["problems.id"], name=op.f("fk_problem_links_problem_id_problems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_links")),
    )
    op.create_index(
        op.f("ix_problem_links_problem_id_demand_id"), "problem_links", ["problem_id", "demand_id"], unique=True
    )
    op.create_index(
        op.f("ix_problem_links_problem_id_announcement_id"),
        "problem_links",
        ["problem_id", "announcement_id"],
        unique=True,
    )
    op.create_index(op.f("ix_problem_links_demand_id"), "problem_links", ["demand_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_problem_links_demand_id"), table_name="problem_links")
    op.drop_index(op.f("ix_problem_links_problem_id_announcement_id"), table_name="problem_links")
    op.drop_index(op.f("ix_problem_links_problem_id_demand_id"), table_name="problem_links")
    op.drop_table("problem_links")
    op.drop_index(op.f("ix_problems_state"), table_name="problems")
    op.drop_table("problems")
