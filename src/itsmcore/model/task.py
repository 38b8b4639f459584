"""Tasks: the plan steps people do (order a phone, ship it), followed by the customer like a parcel."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from ._convert import to_tuple


class TaskState(enum.StrEnum):
    """Open until someone takes it, started once they do (or reach a milestone), done when the plan may go on."""

    OPEN = "open"
    STARTED = "started"
    DONE = "done"


@attrs.frozen(kw_only=True)
class ReachedMilestone:
    """A milestone a task has reached, and when."""

    name: str
    at: datetime


@attrs.frozen(kw_only=True)
class Task:
    """One human plan step of one demand, as stored.

    ``expected`` is the configured wording ("3 working days"); ``expected_at`` the day it
    works out to from when the task began, when the wording is a number of days.
    """

    id: int
    demand_id: int
    step: int
    title: str
    team: str | None
    state: TaskState
    milestones: tuple[ReachedMilestone, ...] = attrs.field(default=(), converter=to_tuple)
    assignee: str | None = None
    expected: str = ""
    expected_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def latest(self) -> ReachedMilestone | None:
        """The milestone reached last: what the customer is told first."""
        return self.milestones[-1] if self.milestones else None

    def reached(self, name: str) -> bool:
        return any(m.name == name for m in self.milestones)
