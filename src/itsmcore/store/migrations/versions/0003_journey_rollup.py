"""journey rollup for the reports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_survey_responses_demand_id"), "survey_responses", ["demand_id"], unique=False)
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
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], name=op.f("fk_journey_stages_demand_id_demands")),
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
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], name=op.f("fk_journey_totals_demand_id_demands")),
        sa.PrimaryKeyConstraint("demand_id", name=op.f("pk_journey_totals")),
    )
    op.create_index(op.f("ix_journey_totals_outcome_secs"), "journey_totals", ["outcome_secs"], unique=False)
    op.create_index(
        op.f("ix_journey_totals_customer_id_kind_created_at_demand_id"),
        "journey_totals",
        ["customer_id", "kind", "created_at", "demand_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_journey_totals_customer_id_service_key_created_at_demand_id"),
        "journey_totals",
        ["customer_id", "service_key", "created_at", "demand_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_journey_totals_service_key_outcome_secs"),
        "journey_totals",
        ["service_key", "outcome_secs"],
        unique=False,
    )
    op.create_table(
        "journey_days",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("service_key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("reached", sa.Integer(), nullable=False),
        sa.Column("timed", sa.Integer(), nullable=False),
        sa.Column("effort", sa.Integer(), nullable=False),
        sa.Column("touches", sa.Integer(), nullable=False),
        sa.Column("customer_actions", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "service_key", "kind", "stage", "channel", name=op.f("pk_journey_days")),
    )
    op.create_table(
        "report_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_report_state")),
    )


def downgrade() -> None:
    op.drop_table("report_state")
    op.drop_table("journey_days")
    op.drop_index(op.f("ix_journey_totals_service_key_outcome_secs"), table_name="journey_totals")
    op.drop_index(op.f("ix_journey_totals_customer_id_service_key_created_at_demand_id"), table_name="journey_totals")
    op.drop_index(op.f("ix_journey_totals_customer_id_kind_created_at_demand_id"), table_name="journey_totals")
    op.drop_index(op.f("ix_journey_totals_outcome_secs"), table_name="journey_totals")
    op.drop_table("journey_totals")
    op.drop_index(op.f("ix_journey_stages_stage_secs"), table_name="journey_stages")
    op.drop_index(op.f("ix_journey_stages_service_key_stage_secs"), table_name="journey_stages")
    op.drop_index(op.f("ix_journey_stages_created_at"), table_name="journey_stages")
    op.drop_table("journey_stages")
    op.drop_index(op.f("ix_survey_responses_demand_id"), table_name="survey_responses")
