"""``itsm queue``: a team's open demands, what breaches first on top; an agent's work; the team's workload."""

from __future__ import annotations

import click

from .base import FORMAT, emit, open_desk


@click.command("queue")
@click.argument("team", required=False)
@click.option("--agent", default=None, help="Only this agent's demands (with no TEAM: their work in every team).")
@click.option("--workload", is_flag=True, help="Show the open and breached demands per member instead.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True, help="At most this many.")
@FORMAT
@click.pass_context
def queue(ctx: click.Context, team: str | None, agent: str | None, workload: bool, limit: int, fmt: str) -> None:
    """A team's open demands, the one whose service level falls due first on top.

    Breached demands come first, then those with a running clock by the time it falls due,
    then the rest by priority and age. 'itsm queue --agent ID' is one agent's work;
    'itsm queue TEAM --workload' counts the open demands of each member.
    """
    desk = open_desk(ctx)
    if workload:
        if team is None:
            raise click.UsageError("--workload needs a TEAM")
        loads = desk.workload(team)
        emit(
            fmt,
            [{"agent": w.agent, "name": w.name, "open": w.open, "breached": w.breached} for w in loads],
            ["agent", "name", "open", "breached"],
            f"workload of {desk.team(team).name}",
        )
        return
    if team is None and agent is None:
        raise click.UsageError("say whose queue: a TEAM, --agent ID, or both")
    now = desk.clock()
    rows = []
    for item in desk.queue(team, agent=agent, limit=limit):
        d = item.demand
        if item.due_at is None:
            due = ""
        elif item.breached:
            due = f"breached ({item.metric})"
        else:
            mins = int((item.due_at - now).total_seconds() // 60)
            due = f"{item.metric} in {mins // 60}h{mins % 60:02d}m"
        rows.append(
            {
                "id": d.id,
                "priority": int(d.priority),
                "due": due,
                "due_at": item.due_at.isoformat(timespec="minutes") if item.due_at else None,
                "team": d.team,
                "agent": d.assignee,
                "state": str(d.state),
                "service": d.service_key,
                "summary": d.summary,
            }
        )
    title = f"queue of {desk.team(team).name}" if team else f"work of {agent}"
    if not rows and fmt != "json":
        click.echo(f"{title}: nothing open")
        return
    emit(fmt, rows, ["id", "priority", "due", "agent", "state", "service", "summary"], title)
