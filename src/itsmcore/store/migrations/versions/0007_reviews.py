"""reviews: customers rate and describe a service for colleagues after a fulfilled value demand

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("service_key", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("hidden_by", sa.String(length=128), nullable=True),
        sa.Column("hidden_reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], name=op.f("fk_reviews_demand_id_demands")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    # one review per demand: two submissions at once store one, the other is a Conflict
    op.create_index(op.f("ix_reviews_demand_id"), "reviews", ["demand_id"], unique=True)
    op.create_index(op.f("ix_reviews_service_key_hidden_at"), "reviews", ["service_key", "hidden", "at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reviews_service_key_hidden_at"), table_name="reviews")
    op.drop_index(op.f("ix_reviews_demand_id"), table_name="reviews")
    op.drop_table("reviews")
