"""journey rollup without foreign keys to demands: the first refresh no longer checks every row it writes

journey_stages and journey_totals are derived from journey_events (whose rows do reference
demands) and are rebuilt from them, so checking each of their rows against demands only
slowed the bulk build (on PostgreSQL a trigger call per row, about 3 s per million events).
The two tables are created again without the constraint; the rollup is emptied, and the
next report builds it again.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def _stages(*constraints: sa.schema.SchemaItem) -> None:
    op.create_table(
        "journey_stages",
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("pos", sa.Integer(), nullable=False),
        sa.Column("entered", sa.Float(), nullable=False),
        sa.Column("left_at", sa.Float(), nullable=True),
        sa.Column("secs", sa.Float(), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("effort", sa.Integer(), nullable=False),
        sa.Column("touches", sa.Integer(), nullable=False),
        sa.Column("customer_actions", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("service_key", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *constraints,
        sa.PrimaryKeyConstraint("demand_id", "stage", name=op.f("pk_journey_stages")),
    )
    op.create_index(op.f("ix_journey_stages_created_at"), "journey_stages", ["created_at"], unique=False)
    op.create_index(
        op.f("ix_journey_stages_service_key_stage_secs"),
        "journey_stages",
        ["service_key", "stage", "secs"],
        unique=False,
    )
    op.create_index(op.f("ix_journey_stages_stage_secs"), "journey_stages", ["stage", "secs"], unique=False)


def _totals(*constraints: sa.schema.SchemaItem) -> None:
    op.create_table(
        "journey_totals",
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("effort", sa.Integer(), nullable=False),
        sa.Column("touches", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("outcome_secs", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.String(length=64), nullable=True),
        sa.Column("service_key", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("prev_id", sa.Integer(), nullable=True),
        sa.Column("prev_secs", sa.Float(), nullable=True),
        sa.Column("prev_effort", sa.Integer(), nullable=True),
        sa.Column("prev_score", sa.Float(), nullable=True),
        sa.Column("pain_stage", sa.String(length=16), nullable=True),
        *constraints,
        sa.PrimaryKeyConstraint("demand_id", name=op.f("pk_journey_totals")),
    )
    op.create_index(op.f("ix_journey_totals_customer_id"), "journey_totals", ["customer_id"], unique=False)
    op.create_index(op.f("ix_journey_totals_outcome_secs"), "journey_totals", ["outcome_secs"], unique=False)
    op.create_index(
        op.f("ix_journey_totals_service_key_outcome_secs"),
        "journey_totals",
        ["service_key", "outcome_secs"],
        unique=False,
    )


def _recreate(with_foreign_keys: bool) -> None:
    op.drop_table("journey_stages")  # its indexes go with it
    op.drop_table("journey_totals")
    op.execute(sa.text("DELETE FROM journey_days"))
    op.execute(sa.text("DELETE FROM report_state WHERE name = 'journey_stages'"))
    fk = "fk_journey_{}_demand_id_demands"
    _stages(
        *(
            [sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], name=op.f(fk.format("stages")))]
            if with_foreign_keys
            else []
        )
    )
    _totals(
        *(
            [sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], name=op.f(fk.format("totals")))]
            if with_foreign_keys
            else []
        )
    )


def upgrade() -> None:
    _recreate(with_foreign_keys=False)


def downgrade() -> None:
    _recreate(with_foreign_keys=True)
