"""The journey hooks' contract, proved over the Eagle5 journeys with the conformance kit's checker.

Every journey event reaches ``itsm_event_recorded`` once, every stage entered
``itsm_stage_entered``, every state change ``itsm_demand_state_changed``, every demand
``itsm_demand_received`` (see ``itsmcore.hookspecs``). Only the public API is used: what a
vendor's plugin sees is what is checked. Runs on the run's database (SQLite, or
PostgreSQL with ``--itsm-database=postgresql``).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import attrs
import pytest

from itsmcore import (
    ActionComponent,
    ActionRequest,
    ActionResult,
    ComponentContext,
    Demand,
    DemandState,
    Desk,
    JourneyEvent,
    Link,
    NoSettings,
    PermanentFailure,
    hookimpl,
)
from itsmcore.history import Clock, generate, write_customers
from itsmcore.testing import HookCall, HookRecorder, ObserverContract, SeenEvent, StoredHookLog

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# A service whose one step fails for good the first time and works when an operator retries it.
RETRY_SERVICE = """
[[services]]
key = "vpn-token"
name = "A VPN token"
description = "A hardware token for the VPN."
plan = [{ action = "test.fails_once" }]
"""


class FailsOnce:
    """A fulfilment action that fails permanently on its first run and works on the next."""

    def __init__(self) -> None:
        self.runs = 0

    @hookimpl
    def itsm_fulfilment_actions(self) -> list[ActionComponent]:
        outer = self

        class Action:
            def __init__(self, _settings: object, _context: ComponentContext) -> None:
                pass

            def run(self, request: ActionRequest) -> ActionResult:
                outer.runs += 1
                if outer.runs == 1:
                    raise PermanentFailure("the token server refused the request")
                return ActionResult(customer_sees="Your VPN token is on its way.", notify=True)

        return [ActionComponent(name="test.fails_once", factory=Action, params=NoSettings, description="fails once")]


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def config(eagle5: Callable[..., Path]) -> Path:
    path = eagle5()
    (path.parent / "catalog" / "hook-contract.toml").write_text(RETRY_SERVICE, encoding="utf-8")
    return path


@pytest.fixture
def desk(config: Path, clock: Clock, itsm_hook_recorder: HookRecorder) -> Iterator[Desk]:
    with Desk.open(config, entry_points=False, clock=clock, plugins=[itsm_hook_recorder, FailsOnce()]) as d:
        yield d


def token_of(desk: Desk, customer: str, marker: str) -> str:
    """The token of the first link containing ``marker`` in the messages ``customer`` received."""
    for m in desk.messages(customer=customer):
        for line in m["body"].splitlines():
            if marker in line and ": http" in line:
                return urlsplit(line.split(": ", 1)[1]).path.rsplit("/", 1)[-1]
    raise AssertionError(f"{customer} got no link with {marker!r}")


def assert_reported_in_order(recorder: HookRecorder, demand_id: int, *states: DemandState) -> None:
    """The hooks reported ``states`` in this order (others may come between): a round trip is not skipped."""
    reported = ObserverContract.reported_states(recorder, demand_id)
    rest = iter(reported)
    assert all(state in rest for state in states), (
        f"demand #{demand_id} went through {' -> '.join(states)}, "
        f"but the state hooks reported {' -> '.join(reported) or 'nothing'}"
    )


def open_crm_outage(desk: Desk) -> int:
    return desk.open_announcement(
        "crm",
        "The CRM web app does not load",
        description="Pages time out after sign-in.",
        workaround="Use the CRM mobile app; we have sent you the link by SMS.",
        links=[Link(title="CRM mobile app", url="https://apps.eagle5.example/crm/mobile")],
        estimate="by 3 pm",
        source="monitoring",
    ).id


# ---------------------------------------------------------------- the Eagle5 journeys


def test_value_demands_plan_steps_approvals_and_rejections(desk: Desk, itsm_hook_recorder: HookRecorder) -> None:
    expensatron = desk.submit(
        "value",
        "steve",
        "",
        service="expensatron",
        answers={"mobile_number": "+44 7700 900123", "mobile_os": "ios"},
        channel="portal",
        discovery="searched 'expenses'",
    ).demand
    phone = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "customer visits"}).demand
    assert desk.get(phone.id).state is DemandState.AWAITING_APPROVAL
    desk.approve(phone.id, "scott", "Enjoy!")
    (ship,) = desk.tasks(demand_id=phone.id)
    desk.start_task(ship.id, "lee")
    for milestone in ("ordered", "dispatched", "delivered"):  # the last one finishes the task and the plan
        desk.task_milestone(ship.id, milestone)
    pc = desk.submit("value", "tony", "", service="desktop-pc", answers={"reason": "gaming"}).demand
    desk.reject(pc.id, "scott", "we use laptops in Sales")

    states = {d: desk.get(d).state for d in (expensatron.id, phone.id, pc.id)}
    assert states == {
        expensatron.id: DemandState.FULFILLED,
        phone.id: DemandState.FULFILLED,
        pc.id: DemandState.REJECTED,
    }, "the journeys themselves must work before their hooks are checked"
    ObserverContract.assert_complete(desk, itsm_hook_recorder)
    S = DemandState
    assert_reported_in_order(itsm_hook_recorder, phone.id, S.AWAITING_APPROVAL, S.IN_FULFILMENT, S.FULFILLED)
    assert_reported_in_order(itsm_hook_recorder, pc.id, S.AWAITING_APPROVAL, S.REJECTED)


def test_the_crm_outage_journey(desk: Desk, clock: Clock, itsm_hook_recorder: HookRecorder) -> None:
    aid = open_crm_outage(desk)
    steve_incident = desk.affects_me(aid, "steve")
    tony = desk.submit("failure", "tony", "CRM won't load", service="crm", channel="phone").demand
    assert tony.announcement_id == aid
    clock.now += timedelta(hours=2)
    desk.resolve_announcement(aid, "The load balancer was replaced.")
    assert desk.get(steve_incident).state is DemandState.RESOLVED

    desk.confirm(token_of(desk, "steve", "fixed=yes"), True)  # through the link in the email
    assert desk.get(steve_incident).state is DemandState.CLOSED
    desk.answer_survey(9, token=token_of(desk, "steve", "/survey/"), comment="Quick fix, thanks")

    clock.now += timedelta(hours=49)  # Tony never confirms: he is followed up
    desk.run_due_jobs()
    assert any(e.kind == "follow_up" for e in desk.journey(tony.id))
    ObserverContract.assert_complete(desk, itsm_hook_recorder)


def test_information_demands_answered_by_self_service_or_routed_to_the_desk(
    desk: Desk, itsm_hook_recorder: HookRecorder
) -> None:
    desk.submit("value", "steve", "", service="smartphone", answers={"reason": "customer visits"})
    answered = desk.submit("information", "steve", "Where is the smartphone I requested?").demand
    routed = desk.submit("information", "tony", "Who decides the parking rota?").demand
    assert desk.get(answered.id).state is DemandState.ANSWERED
    assert desk.get(routed.id).state is DemandState.IN_PROGRESS
    desk.resolve(routed.id, "The facilities team decides it.")
    ObserverContract.assert_complete(desk, itsm_hook_recorder)


def test_an_agent_works_an_incident_and_the_customer_confirms_no_then_yes(
    desk: Desk, itsm_hook_recorder: HookRecorder
) -> None:
    d = desk.submit("failure", "tony", "printer jam", channel="phone").demand
    desk.transition(d.id, "in_progress", actor="agent", customer_sees="Patrick is looking at it.")
    desk.comment(d.id, "Is it the printer on floor 3?", actor="agent")
    desk.comment(d.id, "Yes, by the window.", actor="customer", channel="email")
    desk.resolve(d.id, "Cleared the jam.")
    desk.confirm_demand(d.id, "tony", False)
    assert desk.get(d.id).state is DemandState.IN_PROGRESS
    desk.resolve(d.id, "Replaced the roller.")
    desk.confirm_demand(d.id, "tony", True)
    assert desk.get(d.id).state is DemandState.CLOSED
    ObserverContract.assert_complete(desk, itsm_hook_recorder)
    S = DemandState
    assert_reported_in_order(itsm_hook_recorder, d.id, S.IN_PROGRESS, S.RESOLVED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED)


def test_a_dead_job_retried_by_an_operator(desk: Desk, itsm_hook_recorder: HookRecorder) -> None:
    d = desk.submit("value", "steve", "", service="vpn-token").demand
    (dead,) = [j for j in desk.jobs(demand_id=d.id) if j.action == "test.fails_once"]
    assert dead.state == "dead" and desk.get(d.id).state is DemandState.STUCK
    desk.retry_job(dead.id)
    assert desk.get(d.id).state is DemandState.FULFILLED
    ObserverContract.assert_complete(desk, itsm_hook_recorder)
    S = DemandState
    assert_reported_in_order(itsm_hook_recorder, d.id, S.STUCK, S.IN_FULFILMENT, S.FULFILLED)


def test_the_history_generator(
    eagle5: Callable[..., Path], itsm_database_url: str, itsm_hook_recorder: HookRecorder
) -> None:
    """Weeks of generated demands, every path the generator takes, checked together."""
    config = eagle5().parent / "history.toml"
    text = config.read_text(encoding="utf-8")
    assert 'database = "sqlite:///history.db"' in text
    config.write_text(text.replace("sqlite:///history.db", itsm_database_url), encoding="utf-8")
    customers = write_customers(config.parent / "history-customers.toml", 40, seed=5)
    clock = Clock(START)
    with Desk.open(config, entry_points=False, clock=clock, plugins=[itsm_hook_recorder]) as desk:
        summary = generate(desk, clock, customers, demands=60, days=20, seed=11)
        assert sum(summary.by_kind.values()) >= 60
        ObserverContract.assert_complete(desk, itsm_hook_recorder)


# ---------------------------------------------------------------- bad inputs


class BrokenMirror:
    """An observer whose mirror into another tool is down: every event it is told of raises."""

    @hookimpl
    def itsm_event_recorded(self, demand: Demand, event: JourneyEvent) -> None:
        raise RuntimeError(f"the mirror is down (event {event.id})")


def test_an_observer_that_raises_loses_nothing_and_is_named(
    config: Path, clock: Clock, itsm_hook_recorder: HookRecorder
) -> None:
    # later-registered plugins run first: the broken mirror is called before the recorder each time
    plugins = [itsm_hook_recorder, BrokenMirror(), FailsOnce()]
    with Desk.open(config, entry_points=False, clock=clock, plugins=plugins) as desk:
        d = desk.submit("value", "steve", "", service="expensatron").demand
        assert desk.get(d.id).state is DemandState.FULFILLED, "the demand is kept and carries on"
        failures = desk.plugin_failures(d.id)
        assert failures and all(
            "BrokenMirror" in f.plugin and f.hook == "itsm_event_recorded" and "the mirror is down" in f.error
            for f in failures
        ), [(f.plugin, f.hook, f.error) for f in failures]
        ObserverContract.assert_complete(desk, itsm_hook_recorder)
        journey = desk.journey(d.id)
        assert len(failures) == len(journey), (
            f"the raising plugin was told of {len(failures)} of the {len(journey)} journey events "
            "(each call raised and was recorded against the demand)"
        )


# ---------------------------------------------------------------- other processes


def test_jobs_run_by_another_process_are_seen_through_the_stored_log(
    eagle5: Callable[..., Path], itsm_hook_recorder: HookRecorder
) -> None:
    """``itsm jobs run`` in a subprocess moves the demand; the plugin module records every process's calls."""
    modules = f'\n[plugins]\nmodules = ["{StoredHookLog.PLUGIN_MODULE}"]\n\n[runner]\nuse = "deferred"\n'
    config = eagle5(extra=modules)
    with Desk.open(config, entry_points=False, plugins=[itsm_hook_recorder]) as desk:
        d = desk.submit("value", "steve", "", service="expensatron").demand
        r = subprocess.run(
            [sys.executable, "-m", "itsmcore", "-c", str(config), "jobs", "run"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert r.returncode == 0, r.stderr
        assert desk.get(d.id).state is DemandState.FULFILLED, r.stdout + r.stderr
        stored = StoredHookLog(desk.engine)
        assert [_comparable(c) for c in stored.calls() if c.pid == os.getpid()] == [
            _comparable(c) for c in itsm_hook_recorder.calls()
        ], "the stored log holds what the in-memory recorder of the same process saw"
        ObserverContract.assert_complete(desk, stored)


def _comparable(call: HookCall) -> tuple[object, ...]:
    return (call.hook, call.demand_id, call.state, call.previous, call.event)


# ---------------------------------------------------------------- the checker itself
#
# The tests above fail while hooks are missed. These prove the checker passes a complete
# account and names each kind of break, so a failure above is the desk's, not the checker's.


class Log:
    """A hand-made :class:`~itsmcore.testing.HookLog`."""

    def __init__(self, calls: Sequence[HookCall]) -> None:
        self._calls = list(calls)

    def calls(self) -> list[HookCall]:
        return self._calls


def complete_account(desk: Desk, demand_id: int, states: Sequence[DemandState]) -> list[HookCall]:
    """The calls a faithful journey writer makes for a stored demand that went through ``states``."""
    calls = [HookCall(seq=0, hook="itsm_demand_received", demand_id=demand_id, state=states[0])]
    before = None
    for ev in desk.journey(demand_id):
        seen = SeenEvent.of(ev)
        calls.append(HookCall(seq=0, hook="itsm_event_recorded", demand_id=demand_id, state=states[-1], event=seen))
        if before is None or ev.stage != before.stage:
            calls.append(HookCall(seq=0, hook="itsm_stage_entered", demand_id=demand_id, state=states[-1], event=seen))
        before = ev
    for old, new in itertools.pairwise(states):
        calls.append(HookCall(seq=0, hook="itsm_demand_state_changed", demand_id=demand_id, state=new, previous=old))
    return [attrs.evolve(c, seq=i) for i, c in enumerate(calls)]


def _first(calls: list[HookCall], hook: str, kind: str | None = None) -> int:
    return next(
        i for i, c in enumerate(calls) if c.hook == hook and (kind is None or (c.event and c.event.kind == kind))
    )


def _drop(hook: str, kind: str | None = None) -> Callable[[list[HookCall]], list[HookCall]]:
    return lambda calls: calls[: _first(calls, hook, kind)] + calls[_first(calls, hook, kind) + 1 :]


def _double(calls: list[HookCall]) -> list[HookCall]:
    return [*calls, attrs.evolve(calls[_first(calls, "itsm_event_recorded", "comment")], seq=len(calls))]


def _other_text(calls: list[HookCall]) -> list[HookCall]:
    i = _first(calls, "itsm_event_recorded", "comment")
    event = calls[i].event
    assert event is not None
    return [
        *calls[:i],
        attrs.evolve(calls[i], event=attrs.evolve(event, customer_sees="Something else")),
        *calls[i + 1 :],
    ]


def _unknown_event(calls: list[HookCall]) -> list[HookCall]:
    event = calls[_first(calls, "itsm_event_recorded")].event
    assert event is not None
    ghost = attrs.evolve(event, id=10**6)
    return [*calls, attrs.evolve(calls[_first(calls, "itsm_event_recorded")], seq=len(calls), event=ghost)]


def _wrong_demand(calls: list[HookCall]) -> list[HookCall]:
    i = _first(calls, "itsm_event_recorded", "comment")
    return [*calls[:i], attrs.evolve(calls[i], demand_id=calls[i].demand_id + 1000), *calls[i + 1 :]]


def _stage_for_no_new_stage(calls: list[HookCall]) -> list[HookCall]:
    events = [c.event for c in calls if c.hook == "itsm_event_recorded" and c.event is not None]
    same = next(ev for prev, ev in itertools.pairwise(events) if ev.stage == prev.stage)
    return [
        *calls,
        HookCall(seq=len(calls), hook="itsm_stage_entered", demand_id=same.demand_id, state=calls[0].state, event=same),
    ]


def _unknown_demand(calls: list[HookCall]) -> list[HookCall]:
    return [*calls, HookCall(seq=len(calls), hook="itsm_demand_received", demand_id=10**6, state=DemandState.NEW)]


BREAKS: dict[str, tuple[Callable[[list[HookCall]], list[HookCall]], set[tuple[str, str]]]] = {
    "complete": (lambda calls: calls, set()),
    "an event never reported": (_drop("itsm_event_recorded", "comment"), {("itsm_event_recorded", "missing")}),
    "an event reported twice": (_double, {("itsm_event_recorded", "doubled")}),
    "an event reported with other words": (_other_text, {("itsm_event_recorded", "different")}),
    "an event that was never stored": (_unknown_event, {("itsm_event_recorded", "unexpected")}),
    "an event handed another demand": (_wrong_demand, {("itsm_event_recorded", "wrong demand")}),
    "no receipt": (_drop("itsm_demand_received"), {("itsm_demand_received", "missing")}),
    "a state change never reported": (_drop("itsm_demand_state_changed"), {("itsm_demand_state_changed", "gap")}),
    "a stage entered never reported": (_drop("itsm_stage_entered"), {("itsm_stage_entered", "missing")}),
    "a stage entered where none was": (_stage_for_no_new_stage, {("itsm_stage_entered", "unexpected")}),
    "a demand that was never stored": (_unknown_demand, {("itsm_demand_received", "unexpected")}),
}


@pytest.mark.parametrize("name", list(BREAKS))
def test_the_checker_passes_a_complete_account_and_names_each_break(desk: Desk, name: str) -> None:
    d = desk.submit("failure", "tony", "printer jam", channel="phone").demand
    desk.transition(d.id, "in_progress", actor="agent", customer_sees="Patrick is looking at it.")
    desk.comment(d.id, "Is it the printer on floor 3?", actor="agent")
    account = complete_account(desk, d.id, [DemandState.NEW, DemandState.IN_PROGRESS])
    breaking, expected = BREAKS[name]
    found = ObserverContract.problems(desk, Log(breaking(account)))
    assert {(p.hook, p.problem) for p in found} == expected, [p.message for p in found]
    assert len(found) == len(expected), [p.message for p in found]


def test_the_failure_message_names_the_demand_the_event_and_what_the_customer_saw(desk: Desk) -> None:
    d = desk.submit("failure", "tony", "printer jam", channel="phone").demand
    comment = desk.comment(d.id, "Is it the printer on floor 3?", actor="agent")
    account = complete_account(desk, d.id, [DemandState.NEW])
    with pytest.raises(AssertionError) as info:
        ObserverContract.assert_complete(desk, Log(_drop("itsm_event_recorded", "comment")(account)))
    message = str(info.value)
    assert f"demand #{d.id} (failure demand from tony" in message
    assert f"event {comment.id} ('comment' at stage {comment.stage}" in message
    assert "'Is it the printer on floor 3?'" in message and "never reached itsm_event_recorded" in message
    assert "itsm_event_recorded missing: 1 (event kinds: comment 1)" in message
