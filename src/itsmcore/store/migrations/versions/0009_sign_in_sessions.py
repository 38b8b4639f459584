"""sign-in sessions: held in the store, so that signing out ends a session everywhere at once

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_sessions")),
    )
    op.create_index(op.f("ix_sign_in_sessions_customer_id"), "sign_in_sessions", ["customer_id"], unique=False)
    op.create_index(op.f("ix_sign_in_sessions_expires_at"), "sign_in_sessions", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_sessions_expires_at"), table_name="sign_in_sessions")
    op.drop_index(op.f("ix_sign_in_sessions_customer_id"), table_name="sign_in_sessions")
    op.drop_table("sign_in_sessions")
