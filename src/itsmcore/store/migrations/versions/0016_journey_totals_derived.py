"""journey totals: failure-demand category, previous experience and longest stage, kept at refresh time

The rollup is emptied so that the next refresh builds it again with the new columns filled.

Revision ID: 0016
Revises: 0018
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0018"
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


def upgrade() -> None:
    _empty_rollup()
    for name, type_ in COLUMNS:
        op.add_column("journey_totals", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    _empty_rollup()
    with op.batch_alter_table("journey_totals") as batch:
        for name, _type in reversed(COLUMNS):
            batch.drop_column(name)
