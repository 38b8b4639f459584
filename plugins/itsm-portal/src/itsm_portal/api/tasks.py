"""Tasks: the plan steps people do; a team's work list and the milestones a task reaches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import attrs
import msgspec
from itsmcore import InvalidAnswers, InvalidInput, TaskState

from .demands import Limit
from .routing import MAX_ID, Call, operation
from .shapes import TaskOut, task_out

if TYPE_CHECKING:
    TaskStateName = str
else:
    TaskStateName = Literal[tuple(str(s) for s in TaskState)]


@attrs.frozen(kw_only=True)
class TaskQuery:
    team: Annotated[str | None, msgspec.Meta(description="the team the task is with")] = None
    state: TaskStateName | None = None
    demand: Annotated[int, msgspec.Meta(ge=1, le=MAX_ID, description="the demand's id")] | None = None
    open: Annotated[bool, msgspec.Meta(description="true for tasks not done only")] = False
    limit: Limit = 100


@attrs.frozen(kw_only=True)
class TaskList:
    tasks: list[TaskOut]


@attrs.frozen(kw_only=True)
class MilestoneIn:
    milestone: Annotated[str, msgspec.Meta(description="one of the milestones the task's plan step names")] = ""
    actor: str | None = None


@operation("GET", "/tasks", scope="read", query=TaskQuery, answer=TaskList, summary="List tasks, oldest first")
def list_tasks(call: Call) -> TaskList:
    """The order a team works them in, filtered by team, state and demand."""
    q: TaskQuery = call.query
    found = call.desk.tasks(state=q.state, team=q.team, demand_id=q.demand, open_only=q.open, limit=q.limit)
    return TaskList(tasks=[task_out(x) for x in found])


@operation(
    "POST",
    "/tasks/{tid}/milestones",
    scope="agent",
    body=MilestoneIn,
    answer=TaskOut,
    conflict=True,
    summary="Record a milestone the task reached (the last one finishes it); 409 for a done task"
    " or a milestone reached already, 422 naming the step's milestones",
)
def task_milestone(call: Call) -> TaskOut:
    """The customer's journey says so."""
    b: MilestoneIn = call.body
    tid = call.id("tid")
    allowed = call.desk.task_milestones(tid)  # NotFound: 404
    listing = ", ".join(allowed) if allowed else "none (this task has no milestones)"
    name = b.milestone.strip()
    if not name:
        raise InvalidAnswers({"milestone": f"required; one of {listing}"})
    try:
        return task_out(call.desk.task_milestone(tid, name, actor=call.actor))
    except InvalidAnswers:
        raise
    except InvalidInput:  # not one of the step's milestones
        raise InvalidAnswers({"milestone": f"one of {listing}"}) from None
