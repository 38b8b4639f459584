"""The CMDB's relationships between configuration items and to services

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ci_relationships",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ci", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=True),
        sa.Column("service", sa.String(length=128), nullable=True),
        sa.Column("origin", sa.String(length=512), nullable=False),
        sa.Column("mirrored", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ci_relationships")),
    )
    op.create_index(op.f("ix_ci_relationships_target_ci"), "ci_relationships", ["target", "ci"], unique=False)
    op.create_index(op.f("ix_ci_relationships_ci_service"), "ci_relationships", ["ci", "service"], unique=False)
    op.create_table(
        "cmdb_sync",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cmdb_sync")),
    )


def downgrade() -> None:
    op.drop_table("cmdb_sync")
    op.drop_index(op.f("ix_ci_relationships_ci_service"), table_name="ci_relationships")
    op.drop_index(op.f("ix_ci_relationships_target_ci"), table_name="ci_relationships")
    op.drop_table("ci_relationships")
