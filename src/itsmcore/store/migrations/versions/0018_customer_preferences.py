"""Contact preferences the customer controls, and an audit entry per change

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_preferences",
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("channels", sa.String(length=512), nullable=True),
        sa.Column("quiet_start", sa.String(length=5), nullable=True),
        sa.Column("quiet_end", sa.String(length=5), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("surveys", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_preferences")),
    )
    op.create_table(
        "preference_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old", sa.Text(), nullable=False),
        sa.Column("new", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preference_changes")),
    )
    op.create_index(
        op.f("ix_preference_changes_customer_id_at"), "preference_changes", ["customer_id", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_preference_changes_customer_id_at"), table_name="preference_changes")
    op.drop_table("preference_changes")
    op.drop_table("customer_preferences")
