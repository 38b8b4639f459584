"""Demands: what a customer needs from IT, with an explicit lifecycle per kind."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ._base import Conflict
from .journey import Stage


class DemandKind(enum.StrEnum):
    """The three kinds of demand.

    ``value`` is a request ("I need access to Expensatron"), ``failure`` an incident
    ("I can't get into the CRM"), ``information`` a query ("where is my phone?").
    """

    VALUE = "value"
    FAILURE = "failure"
    INFORMATION = "information"


class DemandState(enum.StrEnum):
    """Every state any demand kind can be in; :data:`LIFECYCLES` says which apply."""

    NEW = "new"
    AWAITING_APPROVAL = "awaiting_approval"
    IN_FULFILMENT = "in_fulfilment"
    STUCK = "stuck"
    FULFILLED = "fulfilled"
    REJECTED = "rejected"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    ANSWERED = "answered"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Priority(enum.IntEnum):
    """Priority 1 (critical) to 4 (low), from impact and urgency."""

    CRITICAL = 1
    HIGH = 2
    MEDIUM = 3
    LOW = 4


S = DemandState

#: Allowed transitions per demand kind: ``{state: {next states}}``.
#: A state with no next states is final.
LIFECYCLES: Mapping[DemandKind, Mapping[DemandState, frozenset[DemandState]]] = {
    DemandKind.VALUE: {
        S.NEW: frozenset({S.AWAITING_APPROVAL, S.IN_FULFILMENT, S.FULFILLED, S.REJECTED, S.CANCELLED}),
        S.AWAITING_APPROVAL: frozenset({S.IN_FULFILMENT, S.REJECTED, S.CANCELLED}),
        S.IN_FULFILMENT: frozenset({S.AWAITING_APPROVAL, S.FULFILLED, S.STUCK, S.CANCELLED}),
        S.STUCK: frozenset({S.IN_FULFILMENT, S.CANCELLED}),
        S.FULFILLED: frozenset({S.CLOSED, S.IN_FULFILMENT}),
        S.REJECTED: frozenset(),
        S.CANCELLED: frozenset(),
        S.CLOSED: frozenset(),
    },
    DemandKind.FAILURE: {
        S.NEW: frozenset({S.IN_PROGRESS, S.RESOLVED, S.CANCELLED}),
        S.IN_PROGRESS: frozenset({S.RESOLVED, S.CANCELLED}),
        S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),
        S.CANCELLED: frozenset(),
        S.CLOSED: frozenset(),
    },
    DemandKind.INFORMATION: {
        S.NEW: frozenset({S.ANSWERED, S.IN_PROGRESS, S.CANCELLED}),
        S.IN_PROGRESS: frozenset({S.ANSWERED, S.CANCELLED}),
        S.ANSWERED: frozenset({S.CLOSED, S.IN_PROGRESS}),
        S.CANCELLED: frozenset(),
        S.CLOSED: frozenset(),
    },
}

#: States in which a demand is finished from the customer's point of view.
FINAL_STATES = frozenset({S.CLOSED, S.CANCELLED, S.REJECTED})


class IllegalTransition(Conflict, ValueError):
    """A demand was asked to move to a state its lifecycle does not allow from here.

    A :class:`~itsmcore.errors.Conflict`: ``state`` is where the demand is, ``allowed``
    the states it may move to from there.
    """

    def __init__(self, demand_id: int | None, kind: DemandKind, state: DemandState, target: DemandState):
        self.demand_id = demand_id
        self.kind = kind
        self.target = target
        allowed = sorted(LIFECYCLES[kind].get(state, frozenset()))
        nxt = ", ".join(allowed) if allowed else "none (it is final)"
        super().__init__(
            f"demand {demand_id} ({kind} demand) is {state}; it cannot become {target}. Allowed next: {nxt}",
            state=state,
            allowed=allowed,
        )
        self.state = state


def check_transition(kind: DemandKind, state: DemandState, target: DemandState, demand_id: int | None = None) -> None:
    """Raise :class:`IllegalTransition` unless ``kind`` may go from ``state`` to ``target``."""
    if target not in LIFECYCLES[kind].get(state, frozenset()):
        raise IllegalTransition(demand_id, kind, state, target)


@attrs.frozen(kw_only=True)
class Demand:
    """Anything a customer needs from IT, as the store holds it."""

    id: int
    kind: DemandKind
    customer_id: str
    summary: str
    channel: str
    state: DemandState = DemandState.NEW
    stage: Stage = Stage.ENGAGE
    service_key: str | None = None
    details: str = ""
    answers: Mapping[str, Any] = attrs.field(factory=dict)
    priority: Priority = Priority.MEDIUM
    external_ref: str | None = None
    caused_by: int | None = None
    cause: str | None = None
    announcement_id: int | None = None
    waiting_for: str | None = None
    #: The ``[teams.KEY]`` team that owns the demand, and the agent (a directory id) who works on it.
    team: str | None = None
    assignee: str | None = None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.state not in FINAL_STATES

    def allowed_next(self) -> frozenset[DemandState]:
        """The states this demand may move to from where it is."""
        return LIFECYCLES[self.kind].get(self.state, frozenset())
