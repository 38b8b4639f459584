"""who did what: the acting person on every journey event; the customer search index

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_TERM = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("journey_events") as batch:
        batch.add_column(sa.Column("actor_login", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("actor_name", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("for_login", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("for_name", sa.String(length=256), nullable=True))
    op.create_table(
        "customer_index",
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=128), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_index")),
    )
    op.create_table(
        "customer_terms",
        sa.Column("term", _TERM, nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("term", "customer_id", name=op.f("pk_customer_terms")),
    )
    op.create_index(op.f("ix_customer_terms_customer_id"), "customer_terms", ["customer_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_customer_terms_customer_id"), table_name="customer_terms")
    op.drop_table("customer_terms")
    op.drop_table("customer_index")
    with op.batch_alter_table("journey_events") as batch:
        batch.drop_column("for_name")
        batch.drop_column("for_login")
        batch.drop_column("actor_name")
        batch.drop_column("actor_login")
