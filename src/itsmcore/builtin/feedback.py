"""Asking for feedback once a customer confirms an outcome: a core feature built on the public hooks.

It only observes, so it is written as any plugin would write it: on
``itsm_demand_state_changed`` to ``closed`` from a finished state, when the journey's
last event says the customer confirmed (not an agent closing it), it asks the desk for
a transactional survey, which applies the survey rules (one per period, none while
affected by an outage, none after self-help). Like any observer, if it fails the
failure is recorded against the demand and the confirmation stands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Actor, DemandState, Stage

if TYPE_CHECKING:
    from ..desk import Desk
    from ..model import Demand

#: The states a confirmation closes.
_FINISHED = frozenset({DemandState.FULFILLED, DemandState.RESOLVED, DemandState.ANSWERED})


def after_confirmation(desk: Desk, demand: Demand, previous: DemandState) -> None:
    if demand.state != DemandState.CLOSED or previous not in _FINISHED:
        return
    last = desk.journey(demand.id)[-1]
    if last.kind == "state" and last.stage == Stage.CONFIRM and last.actor == Actor.CUSTOMER:
        desk.ask_for_feedback(demand.id)
