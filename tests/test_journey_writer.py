"""The journey writer's guarantees under bad input: illegal moves from any path, two writers at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from itsmcore import LIFECYCLES, Conflict, DemandState, IllegalTransition, hookimpl
from itsmcore.desk import Desk


class States:
    """Records each state change the hooks report."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str, str]] = []

    @hookimpl
    def itsm_demand_state_changed(self, desk, demand, previous):  # type: ignore[no-untyped-def]
        self.seen.append((demand.id, str(previous), str(demand.state)))


@pytest.fixture
def deployment(eagle5: Callable[..., Path], database_url: str) -> Path:
    return eagle5(database_url)


@pytest.fixture
def desk(deployment: Path) -> Iterator[Desk]:
    with Desk.open(deployment, entry_points=False) as d:
        yield d


def test_approving_a_fulfilled_request_is_a_conflict_naming_its_state(desk: Desk) -> None:
    d = desk.submit("value", "steve", "", service="expensatron", answers={"mobile_os": "ios"}).demand
    assert desk.get(d.id).state is DemandState.FULFILLED
    before = desk.journey(d.id)
    with pytest.raises(Conflict) as info:
        desk.approve(d.id, "scott")
    assert info.value.state == "fulfilled" and info.value.http_status == 409
    assert info.value.allowed == ["closed", "in_fulfilment"]
    assert "fulfilled" in str(info.value) and "not awaiting approval" in str(info.value)
    with pytest.raises(Conflict):
        desk.reject(d.id, "scott", "no")
    assert desk.journey(d.id) == before, "a refused move writes nothing"


def test_retrying_a_job_that_is_not_dead_is_a_conflict(desk: Desk) -> None:
    d = desk.submit("failure", "steve", "VPN drops").demand
    done = [j for j in desk.jobs(demand_id=d.id) if j.state == "done"]
    assert done
    with pytest.raises(Conflict, match="only dead jobs can be retried") as info:
        desk.retry_job(done[0].id)
    assert info.value.state == "done"
    assert desk.job(done[0].id).state == "done"


def test_an_illegal_transition_names_the_state_and_the_allowed_next_states(desk: Desk) -> None:
    d = desk.submit("failure", "steve", "VPN drops").demand
    desk.transition(d.id, "cancelled")
    with pytest.raises(IllegalTransition) as info:
        desk.transition(d.id, "in_progress")
    assert isinstance(info.value, Conflict) and info.value.state == "cancelled" and info.value.allowed == []
    assert "none (it is final)" in str(info.value)
    with pytest.raises(IllegalTransition):
        desk.resolve(d.id, "Fixed.")
    with pytest.raises(IllegalTransition):
        desk.confirm_demand(d.id, "steve", True)


def test_two_writers_changing_one_demand_at_once_one_wins_the_other_gets_a_conflict(deployment: Path) -> None:
    """Two desks on one database (as two processes would be): the second writer read the demand before
    the first one moved it, and writes after. It must not overwrite the first one's move."""
    states = States()
    with Desk.open(deployment, entry_points=False, plugins=[states]) as first:
        d = first.submit("failure", "steve", "VPN drops").demand
        assert first.get(d.id).state is DemandState.NEW
        armed = [True]

        def clock() -> datetime:
            # called by the second desk after it read the demand, before it writes: the first desk wins the race
            if armed[0]:
                armed[0] = False
                first.transition(d.id, "in_progress", behind_scenes="taken by Patrick")
            return datetime.now(UTC)

        with (
            Desk.open(deployment, entry_points=False, plugins=[states], clock=clock) as second,
            pytest.raises(Conflict) as info,
        ):
            second.transition(d.id, "resolved", customer_sees="Fixed by Rita.")
        assert not armed[0], "the race was staged"
        assert info.value.state == "in_progress"
        assert "changed meanwhile" in str(info.value) and "resolved" in info.value.allowed
        now = first.get(d.id)
        assert now.state is DemandState.IN_PROGRESS
        events = first.journey(d.id)
        assert [e.behind_scenes for e in events if e.kind == "state"] == ["taken by Patrick"]
        assert not any("Rita" in e.customer_sees for e in events), "the loser's event was rolled back"
        assert states.seen == [(d.id, "new", "in_progress")], "one state change, reported once"


def test_a_step_that_finishes_after_the_request_was_cancelled_ends_its_job_and_stops_the_plan(
    eagle5: Callable[..., Path], database_url: str
) -> None:
    states = States()
    with Desk.open(
        eagle5(database_url, '\n[runner]\nuse = "deferred"\n'), entry_points=False, plugins=[states]
    ) as desk:
        d = desk.submit("value", "steve", "", service="expensatron", answers={"mobile_os": "ios"}).demand
        assert desk.get(d.id).state is DemandState.IN_FULFILMENT
        desk.transition(d.id, "cancelled", customer_sees="Cancelled at your request.")
        desk.run_due_jobs()  # the acknowledgement and the first step run now, after the cancellation
        assert desk.get(d.id).state is DemandState.CANCELLED
        jobs = desk.jobs(demand_id=d.id)
        assert jobs and all(j.state == "done" for j in jobs), [(j.action, j.state, j.error) for j in jobs]
        assert len([j for j in jobs if j.step >= 0]) == 1, "no further step was queued"
        stopped = [e for e in desk.journey(d.id) if "the plan does not go on" in e.behind_scenes]
        assert len(stopped) == 1 and "became cancelled" in stopped[0].behind_scenes
        assert states.seen == [(d.id, "in_fulfilment", "cancelled")]


class Strict:
    """Checks, call by call, what the journey hooks' docstrings promise beyond completeness."""

    def __init__(self) -> None:
        self.order: list[tuple[str, int, object]] = []
        self.broken: list[str] = []

    @hookimpl
    def itsm_demand_state_changed(self, desk, demand, previous):  # type: ignore[no-untyped-def]
        if demand.state not in LIFECYCLES[demand.kind][previous]:
            self.broken.append(f"#{demand.id}: {previous} -> {demand.state} is not an allowed move")
        self.order.append(("state", demand.id, demand.state))

    @hookimpl
    def itsm_event_recorded(self, desk, demand, event):  # type: ignore[no-untyped-def]
        if event.demand_id != demand.id or event.id is None:
            self.broken.append(f"event {event.id} reported with demand #{demand.id}")
        self.order.append(("event", demand.id, event))

    @hookimpl
    def itsm_stage_entered(self, desk, demand, event):  # type: ignore[no-untyped-def]
        if demand.stage != event.stage:
            self.broken.append(f"#{demand.id} entered {event.stage} but is reported at {demand.stage}")
        last = self.order[-1] if self.order else None
        if not (last and last[0] == "event" and last[2] == event):
            self.broken.append(f"#{demand.id}: stage {event.stage} entered before its event was reported")
        self.order.append(("stage", demand.id, event.stage))


def test_the_journey_hooks_keep_their_docstrings(deployment: Path) -> None:
    """Allowed moves only; stage_entered right after its event, with the demand at that stage; a state
    change reported before the event recording it; events reported in the order they were written."""
    strict = Strict()
    with Desk.open(deployment, entry_points=False, plugins=[strict]) as desk:
        value = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visiting"}).demand
        desk.approve(value.id, "scott", "Enjoy!")
        failure = desk.submit("failure", "steve", "VPN drops").demand
        desk.transition(failure.id, "in_progress")
        desk.resolve(failure.id, "Fixed the VPN profile.")
        desk.confirm_demand(failure.id, "steve", True)
        assert not strict.broken, strict.broken
        for did in (value.id, failure.id):
            reported = [x[2].id for x in strict.order if x[0] == "event" and x[1] == did]  # type: ignore[union-attr]
            assert reported == [e.id for e in desk.journey(did)], "in the order written"
            calls = [x for x in strict.order if x[1] == did]
            for i, (what, _, _state) in enumerate(calls):
                if what == "state":  # the next call about this demand records that change
                    nxt = calls[i + 1]
                    assert nxt[0] == "event" and nxt[2].kind in ("state", "approved", "outcome", "step"), nxt  # type: ignore[union-attr]


def test_moving_the_desks_clock_moves_every_part(desk: Desk) -> None:
    """Tests and the demo move ``desk.clock``: events, jobs and links must all read the new time."""
    later = datetime(2031, 5, 6, 7, 8, tzinfo=UTC)
    desk.clock = lambda: later
    d = desk.submit("failure", "steve", "VPN drops").demand
    assert d.created_at == later
    assert {e.at for e in desk.journey(d.id)} == {later}
    assert all(j.created_at == later for j in desk.jobs(demand_id=d.id))


def test_a_job_does_not_wait_for_a_transaction_that_only_points_at_the_demand(
    eagle5: Callable[..., Path], database_url: str
) -> None:
    """A job recording a notification inserts a row pointing at the demand (its foreign key check takes
    KEY SHARE on the demand's row) before it reads the demand to report the event. A step of the same
    demand finishing meanwhile must not queue behind that: if it did, the notification's read would queue
    behind the step in turn, and PostgreSQL would end one of them as a deadlock (two workers, one demand)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's: SQLite runs one writer at a time")
    from sqlalchemy import text

    config = eagle5(database_url, '\n[runner]\nuse = "deferred"\n')
    with Desk.open(config, entry_points=False, plugins=[States()]) as desk:
        d = desk.submit("value", "steve", "", service="expensatron", answers={"mobile_os": "ios"}).demand
        ran = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            try:
                desk.run_due_jobs()  # the acknowledgement and the first step: each reads the demand to write
            except BaseException as e:  # reported below
                errors.append(e)
            finally:
                ran.set()

        with desk.engine.begin() as pointer:  # what inserting a journey row does to the demand's row
            pointer.execute(text("SELECT 1 FROM demands WHERE id = :id FOR KEY SHARE"), {"id": d.id})
            runner = threading.Thread(target=run)
            runner.start()
            finished = ran.wait(120)  # with the bug it waits for this transaction, which outlives it
        runner.join(120)
        assert finished, "a job queued behind a transaction that only holds KEY SHARE on its demand"
        assert not errors, errors
        jobs = desk.jobs(demand_id=d.id)
        assert jobs and all(j.state == "done" for j in jobs), [(j.action, j.state, j.error) for j in jobs]
