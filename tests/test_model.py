"""The domain model: stages, moments of truth and lifecycles."""

from __future__ import annotations

import pytest

from itsmcore import LIFECYCLES, DemandKind, DemandState, IllegalTransition, MomentOfTruth, Stage, check_transition

pytestmark = pytest.mark.no_database  # the PostgreSQL pass leaves these out


def test_stages_are_ordered_and_each_has_a_moment_of_truth() -> None:
    assert [s.value for s in Stage] == [
        "discover",
        "engage",
        "acknowledge",
        "fulfil",
        "outcome",
        "confirm",
        "feedback",
        "share",
    ]
    assert Stage.DISCOVER.moment is MomentOfTruth.ZERO
    assert Stage.ENGAGE.moment is MomentOfTruth.FIRST
    assert Stage.FULFIL.moment is MomentOfTruth.SECOND
    assert Stage.SHARE.moment is MomentOfTruth.ULTIMATE
    assert [s.position for s in Stage] == list(range(8))


@pytest.mark.parametrize("kind", list(DemandKind))
def test_every_lifecycle_starts_at_new_and_every_target_is_a_known_state(kind: DemandKind) -> None:
    lifecycle = LIFECYCLES[kind]
    assert DemandState.NEW in lifecycle
    for targets in lifecycle.values():
        assert targets <= set(lifecycle), "every target state must itself be in the lifecycle"
    # every state is reachable from new
    seen, todo = {DemandState.NEW}, [DemandState.NEW]
    while todo:
        for nxt in lifecycle[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(lifecycle)


def test_illegal_transition_names_demand_state_and_allowed_next_states() -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition(DemandKind.FAILURE, DemandState.CLOSED, DemandState.IN_PROGRESS, demand_id=42)
    msg = str(info.value)
    assert "demand 42" in msg and "closed" in msg and "none (it is final)" in msg

    with pytest.raises(IllegalTransition) as info:
        check_transition(DemandKind.VALUE, DemandState.NEW, DemandState.RESOLVED, demand_id=7)
    assert "awaiting_approval" in str(info.value) and "in_fulfilment" in str(info.value)
    assert info.value.allowed == sorted(LIFECYCLES[DemandKind.VALUE][DemandState.NEW])


def test_legal_transition_passes() -> None:
    check_transition(DemandKind.INFORMATION, DemandState.NEW, DemandState.ANSWERED)
