"""``itsm task ...``: the plan steps people do (order, ship, install), and their milestones."""

from __future__ import annotations

from typing import Any

import click

from .base import FORMAT, emit, open_desk


def _task_row(task: Any) -> dict[str, Any]:
    """One task as plain values: a table row, or JSON for scripts."""
    latest = task.latest
    return {
        "id": task.id,
        "demand": task.demand_id,
        "title": task.title,
        "team": task.team or "",
        "state": str(task.state),
        "assignee": task.assignee or "",
        "milestone": latest.name if latest else "",
        "milestones": [{"name": m.name, "at": m.at.isoformat(timespec="seconds")} for m in task.milestones],
        "expected": task.expected,
        "expected_at": task.expected_at.date().isoformat() if task.expected_at else "",
        "updated": task.updated_at.isoformat(timespec="seconds"),
    }


def _said(task: Any, what: str) -> None:
    click.echo(f"task {task.id} ({task.title}) {what}; it is now {task.state}")


@click.group()
def task() -> None:
    """Plan steps people do, with the milestones the customer follows."""


@task.command("list")
@click.option("--state", type=click.Choice(["open", "started", "done"]), default=None, help="Only tasks in this state.")
@click.option("--team", default=None, help="Only this team's tasks.")
@click.option("--demand", "demand_id", type=int, default=None, help="Only this demand's tasks.")
@click.option("--all", "show_all", is_flag=True, help="Include done tasks (by default only open and started ones).")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many tasks.")
@FORMAT
@click.pass_context
def task_list(
    ctx: click.Context,
    state: str | None,
    team: str | None,
    demand_id: int | None,
    show_all: bool,
    limit: int,
    fmt: str,
) -> None:
    """List tasks, oldest first: a team's work list."""
    tasks = open_desk(ctx).tasks(
        state=state, team=team, demand_id=demand_id, open_only=not show_all and state is None, limit=limit
    )
    columns = ["id", "demand", "title", "team", "state", "assignee", "milestone", "expected_at"]
    emit(fmt, [_task_row(t) for t in tasks], columns, "tasks")


@task.command("show")
@click.argument("task_id", type=int)
@FORMAT
@click.pass_context
def task_show(ctx: click.Context, task_id: int, fmt: str) -> None:
    """Show one task: its team, assignee, expected day and the milestones reached so far."""
    desk = open_desk(ctx)
    row = _task_row(desk.task(task_id))
    row["allowed"] = list(desk.task_milestones(task_id))
    if fmt == "json":
        emit(fmt, row, [])
        return
    click.echo(f"task {row['id']} for demand #{row['demand']}: {row['title']}")
    click.echo(f"  state: {row['state']}; team: {row['team'] or '-'}; assignee: {row['assignee'] or '-'}")
    click.echo(f"  expected: {row['expected'] or '-'}" + (f" (by {row['expected_at']})" if row["expected_at"] else ""))
    reached = {m["name"]: m["at"] for m in row["milestones"]}
    for name in row["allowed"]:
        click.echo(f"  [{'x' if name in reached else ' '}] {name}" + (f"  {reached[name]}" if name in reached else ""))


@task.command("start")
@click.argument("task_id", type=int)
@click.option("--assignee", default=None, help="Who takes it (default: whoever it is assigned to already).")
@click.pass_context
def task_start(ctx: click.Context, task_id: int, assignee: str | None) -> None:
    """Take a task: it is started (and the assignee's)."""
    _said(open_desk(ctx).start_task(task_id, assignee), "started")


@task.command("milestone")
@click.argument("task_id", type=int)
@click.argument("milestone")
@click.pass_context
def task_milestone(ctx: click.Context, task_id: int, milestone: str) -> None:
    """Record that a task reached MILESTONE (e.g. dispatched); the customer is told, the last one finishes it."""
    _said(open_desk(ctx).task_milestone(task_id, milestone), f"reached {milestone!r}")


@task.command("done")
@click.argument("task_id", type=int)
@click.pass_context
def task_done(ctx: click.Context, task_id: int) -> None:
    """Mark a task done: the plan carries on, and the request is fulfilled after its last step."""
    _said(open_desk(ctx).finish_task(task_id), "done")


@task.command("reassign")
@click.argument("task_id", type=int)
@click.option("--assignee", default=None, help="The person who takes it over ('' for nobody).")
@click.option("--team", default=None, help="The team that takes it over.")
@click.pass_context
def task_reassign(ctx: click.Context, task_id: int, assignee: str | None, team: str | None) -> None:
    """Give a task to another person or team."""
    t = open_desk(ctx).reassign_task(task_id, assignee=assignee, team=team)
    _said(t, f"reassigned to {t.assignee or 'nobody'} ({t.team or 'no team'})")
