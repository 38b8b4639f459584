"""Planned changes: work on services or configuration items in a window, approved before it starts."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from ._convert import to_tuple


class ChangeState(enum.StrEnum):
    """Where a planned change is: asked for, approved (or rejected), under way, done or called off."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ChangeRisk(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


#: What each state may become; anything else is refused (409) naming these.
CHANGE_TRANSITIONS: dict[ChangeState, frozenset[ChangeState]] = {
    ChangeState.PROPOSED: frozenset({ChangeState.APPROVED, ChangeState.REJECTED, ChangeState.CANCELLED}),
    ChangeState.APPROVED: frozenset({ChangeState.IN_PROGRESS, ChangeState.CANCELLED}),
    ChangeState.IN_PROGRESS: frozenset({ChangeState.COMPLETED}),
    ChangeState.REJECTED: frozenset(),
    ChangeState.COMPLETED: frozenset(),
    ChangeState.CANCELLED: frozenset(),
}


@attrs.frozen(kw_only=True)
class ChangeDecision:
    """One approver's decision on a change: who, for whom (when on someone's behalf), yes or no, why, when."""

    approver: str
    approved: bool
    note: str = ""
    on_behalf_of: str | None = None
    at: datetime


@attrs.frozen(kw_only=True)
class PlannedChange:
    """A planned change: what, on which services and items, when, how risky, who approves it, where it is.

    ``customer_impact`` says whether the subscribers of its services notice the work: such a
    change is announced to them ``[changes] notice_hours`` ahead, when it starts and when it ends.
    """

    id: int
    title: str
    description: str = ""
    services: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    items: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    start: datetime
    end: datetime
    risk: ChangeRisk = attrs.field(default=ChangeRisk.LOW, converter=ChangeRisk)
    customer_impact: bool = True
    approvers: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    decisions: tuple[ChangeDecision, ...] = attrs.field(default=(), converter=to_tuple)
    state: ChangeState = attrs.field(default=ChangeState.PROPOSED, converter=ChangeState)
    owner: str = ""
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    announcements: tuple[int, ...] = attrs.field(default=(), converter=to_tuple)

    def allowed_next(self) -> list[str]:
        """The states this change may move to from where it is."""
        return sorted(str(s) for s in CHANGE_TRANSITIONS[self.state])

    def waiting_for(self) -> tuple[str, ...]:
        """The approvers who have not decided yet."""
        decided = {d.on_behalf_of or d.approver for d in self.decisions}
        return tuple(a for a in self.approvers if a not in decided)
