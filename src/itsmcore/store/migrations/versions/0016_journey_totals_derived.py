"""journey totals: failure-demand category, previous experience and longest stage, kept at refresh time

The indexes that paired journeys at query time give way to one on the customer. The rollup is emptied so that the next refresh builds it again with the new columns filled.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

COLUMNS = (
    ("category", sa.String(length=16)),
    ("prev_id", sa.Integer()),
    ("prev_secs", sa.Float()),
    ("prev_effort", sa.Integer()),
    ("prev_score", sa.Float()),
    ("pain_stage", sa.String(length=16)),
)


def _empty_rollup() -> None:
    for table in ("journey_days", "journey_totals", "journey_stages"):
        op.execute(sa.text(f"DELETE FROM {table}"))
    op.execute(sa.text("DELETE FROM report_state WHERE name = 'journey_stages'"))


OLD_INDEXES = (
    ("ix_journey_totals_customer_id_kind_created_at_demand_id", ["customer_id", "kind", "created_at", "demand_id"]),
    (
        "ix_journey_totals_customer_id_service_key_created_at_demand_id",
        ["customer_id", "service_key", "created_at", "demand_id"],
    ),
)


def upgrade() -> None:
    _empty_rollup()
    for index, _columns in OLD_INDEXES:
        op.drop_index(op.f(index), table_name="journey_totals")
    for name, type_ in COLUMNS:
        op.add_column("journey_totals", sa.Column(name, type_, nullable=True))
    op.create_index(op.f("ix_journey_totals_customer_id"), "journey_totals", ["customer_id"], unique=False)


def downgrade() -> None:
    _empty_rollup()
    op.drop_index(op.f("ix_journey_totals_customer_id"), table_name="journey_totals")
    with op.batch_alter_table("journey_totals") as batch:
        for name, _type in reversed(COLUMNS):
            batch.drop_column(name)
    for index, columns in OLD_INDEXES:
        op.create_index(op.f(index), "journey_totals", columns, unique=False)
