"""a team's workload kept as demands change; its open work without a clock in queue order

team_workload holds each team's open demands per agent, kept by triggers on demands so
that every writer keeps it (the desk, bulk loads, history generation). A team's page read
the count of every open demand of the team before, which grows with the team's backlog.
On PostgreSQL the triggers append +1/-1 rows to workload_changes rather than update the
counter row: concurrent intakes for one team would otherwise wait on each other's commit
for the same row. Reads sum the two and fold the changes in. The counts are filled from
today's demands.

A team's queue reads its running service-level clocks by due date: each clock now carries
its demand's team and agent (set by a trigger when the clock is made, and again when the
demand moves to another team or agent), with partial indexes on the running ones. Before, the queue walked every
team's running clocks and looked up each one's demand to find its own. A partial index
orders a team's open work by priority and age, for the queue's demands without a running
clock.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

# as in itsmcore.store.tables.WORK_STATES when this revision was written (a migration keeps its own copy)
_WORK = "('new', 'awaiting_approval', 'in_fulfilment', 'stuck', 'in_progress')"
_WORK_WHERE = sa.text(f"state IN {_WORK}")

_PG_FUNCTION = f"""
CREATE FUNCTION itsm_workload_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was boolean := false;
    is_now boolean := false;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        was := OLD.team IS NOT NULL AND OLD.state IN {_WORK};
    END IF;
    IF TG_OP <> 'DELETE' THEN
        is_now := NEW.team IS NOT NULL AND NEW.state IN {_WORK};
    END IF;
    IF was AND is_now AND OLD.team = NEW.team AND coalesce(OLD.assignee, '') = coalesce(NEW.assignee, '') THEN
        RETURN NULL;
    END IF;
    IF was THEN
        INSERT INTO workload_changes (team, assignee, delta) VALUES (OLD.team, coalesce(OLD.assignee, ''), -1);
    END IF;
    IF is_now THEN
        INSERT INTO workload_changes (team, assignee, delta) VALUES (NEW.team, coalesce(NEW.assignee, ''), 1);
    END IF;
    RETURN NULL;
END
$$
"""

_PG_TRIGGERS = (
    f"""CREATE TRIGGER demands_workload_insert AFTER INSERT ON demands FOR EACH ROW
        WHEN (NEW.team IS NOT NULL AND NEW.state IN {_WORK}) EXECUTE FUNCTION itsm_workload_change()""",
    f"""CREATE TRIGGER demands_workload_delete AFTER DELETE ON demands FOR EACH ROW
        WHEN (OLD.team IS NOT NULL AND OLD.state IN {_WORK}) EXECUTE FUNCTION itsm_workload_change()""",
    """CREATE TRIGGER demands_workload_update AFTER UPDATE OF team, assignee, state ON demands FOR EACH ROW
        WHEN (OLD.team IS DISTINCT FROM NEW.team OR OLD.assignee IS DISTINCT FROM NEW.assignee
              OR OLD.state IS DISTINCT FROM NEW.state)
        EXECUTE FUNCTION itsm_workload_change()""",
)

_ADD = """INSERT INTO team_workload (team, assignee, open) {source}
          ON CONFLICT (team, assignee) DO UPDATE SET open = team_workload.open + 1"""
_TAKE = """UPDATE team_workload SET open = open - 1
           WHERE {guard}team = OLD.team AND assignee = coalesce(OLD.assignee, '')"""

_ADD_NEW = _ADD.format(source="VALUES (NEW.team, coalesce(NEW.assignee, ''), 1)")
_ADD_NEW_IF_WORK = _ADD.format(
    source=f"SELECT NEW.team, coalesce(NEW.assignee, ''), 1 WHERE NEW.team IS NOT NULL AND NEW.state IN {_WORK}"
)
_TAKE_OLD = _TAKE.format(guard="")
_TAKE_OLD_IF_WORK = _TAKE.format(guard=f"OLD.team IS NOT NULL AND OLD.state IN {_WORK} AND ")

_SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER demands_workload_insert AFTER INSERT ON demands
        WHEN NEW.team IS NOT NULL AND NEW.state IN {_WORK}
        BEGIN {_ADD_NEW}; END""",
    f"""CREATE TRIGGER demands_workload_delete AFTER DELETE ON demands
        WHEN OLD.team IS NOT NULL AND OLD.state IN {_WORK}
        BEGIN {_TAKE_OLD}; END""",
    f"""CREATE TRIGGER demands_workload_update AFTER UPDATE OF team, assignee, state ON demands
        WHEN OLD.team IS NOT NEW.team OR OLD.assignee IS NOT NEW.assignee OR OLD.state IS NOT NEW.state
        BEGIN {_TAKE_OLD_IF_WORK}; {_ADD_NEW_IF_WORK}; END""",
)


_RUNNING = sa.text("state = 'running'")

_PG_CLOCK_TEAM = (
    """CREATE FUNCTION itsm_clock_team() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT team, assignee INTO NEW.team, NEW.assignee FROM demands WHERE id = NEW.demand_id;
        RETURN NEW;
    END
    $$""",
    """CREATE TRIGGER service_level_clocks_team BEFORE INSERT ON service_level_clocks FOR EACH ROW
        EXECUTE FUNCTION itsm_clock_team()""",
    """CREATE FUNCTION itsm_demand_team_clocks() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE service_level_clocks SET team = NEW.team, assignee = NEW.assignee WHERE demand_id = NEW.id;
        RETURN NULL;
    END
    $$""",
    """CREATE TRIGGER demands_team_clocks AFTER UPDATE OF team, assignee ON demands FOR EACH ROW
        WHEN (OLD.team IS DISTINCT FROM NEW.team OR OLD.assignee IS DISTINCT FROM NEW.assignee)
        EXECUTE FUNCTION itsm_demand_team_clocks()""",
)

_SQLITE_CLOCK_TEAM = (
    """CREATE TRIGGER service_level_clocks_team AFTER INSERT ON service_level_clocks
        BEGIN
            UPDATE service_level_clocks
            SET team = (SELECT team FROM demands WHERE id = NEW.demand_id),
                assignee = (SELECT assignee FROM demands WHERE id = NEW.demand_id)
            WHERE demand_id = NEW.demand_id AND metric = NEW.metric;
        END""",
    """CREATE TRIGGER demands_team_clocks AFTER UPDATE OF team, assignee ON demands
        WHEN OLD.team IS NOT NEW.team OR OLD.assignee IS NOT NEW.assignee
        BEGIN
            UPDATE service_level_clocks SET team = NEW.team, assignee = NEW.assignee WHERE demand_id = NEW.id;
        END""",
)


def upgrade() -> None:
    op.create_index(
        "ix_demands_team_work_order",
        "demands",
        ["team", "priority", "created_at", "id"],
        unique=False,
        sqlite_where=_WORK_WHERE,
        postgresql_where=_WORK_WHERE,
    )
    op.create_table(
        "team_workload",
        sa.Column("team", sa.String(length=128), nullable=False),
        sa.Column("assignee", sa.String(length=128), nullable=False),
        sa.Column("open", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("team", "assignee", name=op.f("pk_team_workload")),
    )
    op.create_table(
        "workload_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("team", sa.String(length=128), nullable=False),
        sa.Column("assignee", sa.String(length=128), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workload_changes")),
    )
    op.create_index(op.f("ix_workload_changes_team"), "workload_changes", ["team"], unique=False)
    op.execute(
        f"""INSERT INTO team_workload (team, assignee, open)
            SELECT team, coalesce(assignee, ''), COUNT(*) FROM demands
            WHERE team IS NOT NULL AND state IN {_WORK}
            GROUP BY team, coalesce(assignee, '')"""
    )
    op.add_column("service_level_clocks", sa.Column("team", sa.String(length=128), nullable=True))
    op.add_column("service_level_clocks", sa.Column("assignee", sa.String(length=128), nullable=True))
    op.execute(
        """UPDATE service_level_clocks
           SET team = (SELECT team FROM demands WHERE demands.id = service_level_clocks.demand_id),
               assignee = (SELECT assignee FROM demands WHERE demands.id = service_level_clocks.demand_id)"""
    )
    op.create_index(
        "ix_service_level_clocks_team_running",
        "service_level_clocks",
        ["team", "due_at", "demand_id"],
        unique=False,
        sqlite_where=_RUNNING,
        postgresql_where=_RUNNING,
    )
    op.create_index(
        "ix_service_level_clocks_assignee_running",
        "service_level_clocks",
        ["assignee", "team", "due_at", "demand_id"],
        unique=False,
        sqlite_where=_RUNNING,
        postgresql_where=_RUNNING,
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in (_PG_FUNCTION, *_PG_TRIGGERS, *_PG_CLOCK_TEAM):
            op.execute(statement)
    else:
        for statement in (*_SQLITE_TRIGGERS, *_SQLITE_CLOCK_TEAM):
            op.execute(statement)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for name, table in (
        ("demands_workload_insert", "demands"),
        ("demands_workload_delete", "demands"),
        ("demands_workload_update", "demands"),
        ("demands_team_clocks", "demands"),
        ("service_level_clocks_team", "service_level_clocks"),
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if pg else ""))
    if pg:
        for function in ("itsm_workload_change", "itsm_clock_team", "itsm_demand_team_clocks"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_index("ix_service_level_clocks_assignee_running", table_name="service_level_clocks")
    op.drop_index("ix_service_level_clocks_team_running", table_name="service_level_clocks")
    with op.batch_alter_table("service_level_clocks") as batch:
        batch.drop_column("assignee")
        batch.drop_column("team")
    op.drop_index(op.f("ix_workload_changes_team"), table_name="workload_changes")
    op.drop_table("workload_changes")
    op.drop_table("team_workload")
    op.drop_index("ix_demands_team_work_order", table_name="demands")
