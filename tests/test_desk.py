"""The desk facade on SQLite and PostgreSQL: intake, journeys, lifecycles, plugin failures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from itsmcore import (
    DemandKind,
    DemandState,
    IllegalTransition,
    Stage,
    UnknownCustomer,
    UnknownService,
    hookimpl,
)
from itsmcore.desk import Desk


class Recorder:
    """Records every journey hook call, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    @hookimpl
    def itsm_demand_received(self, desk, demand):  # type: ignore[no-untyped-def]
        self.calls.append(("received", demand.id))

    @hookimpl
    def itsm_stage_entered(self, desk, demand, event):  # type: ignore[no-untyped-def]
        self.calls.append(("stage", event.stage))

    @hookimpl
    def itsm_demand_state_changed(self, desk, demand, previous):  # type: ignore[no-untyped-def]
        self.calls.append(("state", (previous, demand.state)))


class Exploding:
    @hookimpl
    def itsm_demand_received(self, desk, demand):  # type: ignore[no-untyped-def]
        raise RuntimeError("the ticket mirror is down")

    @hookimpl
    def itsm_classify(self, desk, intake):  # type: ignore[no-untyped-def]
        raise ValueError("classifier crashed")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def desk(write_deployment: Callable[..., Path], database_url: str, recorder: Recorder) -> Iterator[Desk]:
    path = write_deployment(database=database_url)
    with Desk.open(path, entry_points=False, plugins=[recorder]) as d:
        yield d


def test_submit_writes_demand_and_journey_and_calls_hooks(desk: Desk, recorder: Recorder) -> None:
    receipt = desk.submit("failure", "steve", "I can't get into the CRM", service="crm", channel="portal")
    d = receipt.demand
    assert d.kind is DemandKind.FAILURE and d.customer_id == "steve" and d.service_key == "crm"
    assert "we have your report" in receipt.acknowledgement.lower() and f"#{d.id}" in receipt.acknowledgement
    journey = desk.journey(d.id)
    assert [e.stage for e in journey[:2]] == [Stage.ENGAGE, Stage.ACKNOWLEDGE]
    assert journey[0].customer_sees == "You told us: I can't get into the CRM"
    assert journey[0].actor == "customer" and journey[0].channel == "portal"
    # the acknowledgement went out through the customer's preferred channel and is in the journey
    assert any(e.kind == "notification" and "we have your report" in e.customer_sees.lower() for e in journey)
    assert desk.messages(customer="steve")[0]["purpose"] == "acknowledgement"
    assert ("received", d.id) in recorder.calls
    assert ("stage", Stage.ENGAGE) in recorder.calls and ("stage", Stage.ACKNOWLEDGE) in recorder.calls


def test_unknown_customer_and_service_write_nothing(desk: Desk) -> None:
    with pytest.raises(UnknownCustomer, match="'nobody'"):
        desk.submit("failure", "nobody", "help")
    with pytest.raises(UnknownService, match="did you mean 'crm'"):
        desk.submit("failure", "steve", "help", service="crn")
    assert desk.list_demands() == []


def test_lifecycle_is_enforced_and_recorded(desk: Desk, recorder: Recorder) -> None:
    d = desk.submit("failure", "steve", "VPN drops").demand
    desk.transition(d.id, "in_progress")
    desk.resolve(d.id, "We restarted the VPN concentrator.")
    assert desk.get(d.id).state is DemandState.RESOLVED
    assert desk.get(d.id).resolved_at is not None
    desk.transition(d.id, "closed", actor="customer")
    with pytest.raises(IllegalTransition) as info:
        desk.transition(d.id, "in_progress")
    assert f"demand {d.id}" in str(info.value) and "closed" in str(info.value)
    assert ("state", (DemandState.NEW, DemandState.IN_PROGRESS)) in recorder.calls
    stages = [e.stage for e in desk.journey(d.id)]
    assert Stage.OUTCOME in stages and stages[-1] is Stage.CONFIRM


def test_advance_and_record_event(desk: Desk, recorder: Recorder) -> None:
    d = desk.submit("information", "steve", "how do I book leave").demand
    ev = desk.advance(d.id, "feedback", customer_sees="Thanks for telling us", behind_scenes="survey sent")
    assert ev.stage is Stage.FEEDBACK and ev.moment == "ultimate"
    assert desk.get(d.id).stage is Stage.FEEDBACK
    assert ("stage", Stage.FEEDBACK) in recorder.calls
    desk.comment(d.id, "Found it, thanks!")
    assert desk.journey(d.id)[-1].customer_sees == "Found it, thanks!"


def test_a_plugin_that_raises_never_loses_the_demand(write_deployment: Callable[..., Path], database_url: str) -> None:
    path = write_deployment(database=database_url)
    with Desk.open(path, entry_points=False, plugins=[Exploding()]) as desk:
        receipt = desk.submit("failure", "steve", "printer on fire")
        d = desk.get(receipt.demand.id)
        assert d.summary == "printer on fire"
        failures = desk.plugin_failures(d.id)
        hooks = {(f.hook, f.error) for f in failures}
        assert ("itsm_demand_received", "RuntimeError: the ticket mirror is down") in hooks
        assert all(f.plugin.startswith("tests.test_desk.Exploding") for f in failures)
        # classification still happened through the builtin classifier
        assert desk.show(d.id).failures


def test_same_external_reference_yields_one_demand(desk: Desk) -> None:
    a = desk.submit("failure", "steve", "mail bounce", external_ref="<abc@mail.example>")
    b = desk.submit("failure", "steve", "mail bounce", external_ref="<abc@mail.example>")
    assert a.demand.id == b.demand.id and b.duplicate and not a.duplicate
    assert len(desk.list_demands()) == 1


def test_classifier_decides_kind_when_the_channel_cannot(desk: Desk) -> None:
    assert desk.submit(None, "steve", "Where is my new phone?").demand.kind is DemandKind.INFORMATION
    assert desk.submit(None, "steve", "The CRM is down for everyone").demand.priority == 2
    d = desk.submit(None, "steve", "I need access to expenses").demand
    assert d.kind is DemandKind.VALUE or d.service_key == "expensatron"


def test_list_filters(desk: Desk) -> None:
    desk.submit("failure", "steve", "one")
    desk.submit("information", "scott", "two?")
    assert [d.summary for d in desk.list_demands(customer="scott")] == ["two?"]
    assert [d.summary for d in desk.list_demands(kind="failure")] == ["one"]


def test_a_runner_sets_how_long_its_claims_last(write_deployment: Callable[..., Path]) -> None:
    from datetime import timedelta

    from itsmcore import NoSettings, RunnerComponent, hookimpl

    class ShortLeases:
        lease = timedelta(seconds=7)

        def __init__(self, settings: object, context: object) -> None:
            pass

        def wake(self, desk: Desk, job_ids: object) -> None:
            return None  # a worker elsewhere would pick them up

    class Plugin:
        @hookimpl
        def itsm_job_runners(self) -> list[RunnerComponent]:
            return [RunnerComponent(name="short", factory=ShortLeases, settings=NoSettings, description="short leases")]

    config = write_deployment('[runner]\nuse = "short"\n')
    with Desk.open(config, plugins=[Plugin()], entry_points=False) as desk:
        desk.submit("failure", "steve", "printer jam")
        (job,) = desk.jobs(state="pending")
        now = job.run_after
        assert desk.claim(job.id, now=now)
        assert desk.job(job.id).lease_until == now + timedelta(seconds=7)
