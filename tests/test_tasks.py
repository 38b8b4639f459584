"""Plan steps people do, tracked like a parcel: Steve's smartphone is fulfilled when it is delivered, not approved.

Through the public API (``Desk``) and the command line, on the Eagle5 example, whose
smartphone plan is an approval and then a logistics task with the milestones ordered,
dispatched and delivered (expected in 3 working days).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from itsmcore import Desk
from itsmcore.cli import cli
from itsmcore.errors import ConfigError, Conflict, InvalidInput
from itsmcore.model import DemandState, TaskState
from itsmcore.testing import HookRecorder, ObserverContract

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = MONDAY

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def config(eagle5: Callable[..., Path]) -> Path:
    return eagle5()


@pytest.fixture
def recorder() -> HookRecorder:
    return HookRecorder()


@pytest.fixture
def desk(config: Path, clock: Clock, recorder: HookRecorder) -> Iterator[Desk]:
    with Desk.open(config, entry_points=False, clock=clock, plugins=[recorder]) as d:
        yield d


def approved_phone(desk: Desk) -> int:
    """Steve's smartphone request, approved by Scott: the plan now waits on logistics."""
    phone = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "customer visits"}).demand
    desk.approve(phone.id, "scott")
    return phone.id


def progress_messages(desk: Desk, demand_id: int) -> list[str]:
    return [m["body"] for m in desk.messages(demand_id=demand_id) if m["purpose"] == "progress"]


def test_the_phone_waits_for_approval_then_for_logistics(desk: Desk) -> None:
    phone = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "customer visits"}).demand
    assert desk.get(phone.id).state is DemandState.AWAITING_APPROVAL
    assert desk.tasks(demand_id=phone.id) == [], "no task before the plan reaches it"
    desk.approve(phone.id, "scott")

    d = desk.get(phone.id)
    assert d.state is DemandState.IN_FULFILMENT, "approved is not delivered"
    assert d.waiting_for == "the logistics team to order and ship the phone"
    (task,) = desk.tasks(demand_id=phone.id)
    assert (task.title, task.team, task.state, task.expected) == (
        "Order and ship the phone",
        "logistics",
        TaskState.OPEN,
        "3 working days",
    )
    assert task.expected_at is not None and task.expected_at.date().isoformat() == "2026-03-04", (
        "Mon 09:00 + 3 working days of the London office (09:00-17:30): Wednesday at closing time"
    )
    status = desk.customer_status(phone.id)
    assert status.text == "Waiting for the logistics team to order and ship the phone. Expected by Wednesday 4 March."
    assert not status.finished
    assert any(e.kind == "task" and e.customer_sees == status.text for e in desk.journey(phone.id))


def test_milestones_reach_the_journey_the_messages_and_the_status(desk: Desk, clock: Clock) -> None:
    did = approved_phone(desk)
    (task,) = desk.tasks(demand_id=did)
    desk.start_task(task.id, "lee")
    assert desk.task(task.id).state is TaskState.STARTED and desk.task(task.id).assignee == "lee"
    desk.task_milestone(task.id, "ordered")
    clock.now += timedelta(days=1)
    desk.task_milestone(task.id, "dispatched")

    seen = [e.customer_sees for e in desk.journey(did) if e.kind == "milestone"]
    assert seen == ["Your phone was ordered.", "Your phone was dispatched."]
    assert {"Your phone was ordered.", "Your phone was dispatched."} <= set(progress_messages(desk, did))
    status = desk.customer_status(did)
    assert status.sentence == "On its way: dispatched today, expected by Wednesday 4 March."
    assert status.label == "On its way" and not status.finished
    clock.now += timedelta(days=1)
    assert desk.customer_status(did).sentence == "On its way: dispatched yesterday, expected by Wednesday 4 March."

    answered = desk.submit("information", "steve", "Where is my smartphone?", channel="portal").demand
    answer = next(e.customer_sees for e in desk.journey(answered.id) if e.kind == "state")
    assert f"#{did}" in answer and "On its way: dispatched yesterday, expected by Wednesday 4 March." in answer
    assert desk.get(did).state is DemandState.IN_FULFILMENT, "dispatched is not delivered"


def test_fulfilled_only_when_the_task_is_done(desk: Desk, recorder: HookRecorder) -> None:
    did = approved_phone(desk)
    (task,) = desk.tasks(demand_id=did)
    desk.task_milestone(task.id, "ordered")
    assert desk.get(did).state is DemandState.IN_FULFILMENT
    done = desk.finish_task(task.id)
    assert done.state is TaskState.DONE
    d = desk.get(did)
    assert d.state is DemandState.FULFILLED and d.waiting_for is None
    assert desk.customer_status(did).finished
    assert desk.tasks(demand_id=did, open_only=True) == []
    ObserverContract.assert_complete(desk, recorder)


def test_the_last_milestone_finishes_the_task_and_one_message_says_so(desk: Desk, recorder: HookRecorder) -> None:
    did = approved_phone(desk)
    (task,) = desk.tasks(demand_id=did)
    for milestone in ("ordered", "dispatched", "delivered"):
        desk.task_milestone(task.id, milestone)
    assert desk.task(task.id).state is TaskState.DONE
    assert desk.get(did).state is DemandState.FULFILLED
    bodies = [m["body"] for m in desk.messages(demand_id=did)]
    assert "Your phone was delivered." not in bodies, "the outcome message tells them; not two messages"
    assert any("A company smartphone is ready for you" in b for b in bodies)
    ObserverContract.assert_complete(desk, recorder)
    reported = ObserverContract.reported_states(recorder, did)
    assert reported[-2:] == [DemandState.IN_FULFILMENT, DemandState.FULFILLED]


def test_a_done_task_takes_no_more_milestones_and_unknown_ones_are_named(desk: Desk) -> None:
    did = approved_phone(desk)
    (task,) = desk.tasks(demand_id=did)
    with pytest.raises(InvalidInput, match="ordered, dispatched, delivered"):
        desk.task_milestone(task.id, "shipped")
    desk.task_milestone(task.id, "ordered")
    with pytest.raises(Conflict, match="reached 'ordered' already"):
        desk.task_milestone(task.id, "ordered")
    desk.finish_task(task.id)
    with pytest.raises(Conflict, match="is done") as err:
        desk.task_milestone(task.id, "dispatched")
    assert err.value.http_status == 409 and err.value.state == "done"
    with pytest.raises(Conflict):
        desk.finish_task(task.id)
    assert desk.get(did).state is DemandState.FULFILLED, "a refused move changed nothing"


def test_a_milestone_can_be_told_quietly(eagle5: Callable[..., Path], clock: Clock) -> None:
    config = eagle5()
    services = config.parent / "catalog" / "services.toml"
    services.write_text(
        services.read_text().replace(
            'milestones = ["ordered", "dispatched", "delivered"]',
            'milestones = [{ name = "ordered", notify = false }, "dispatched", "delivered"]',
            1,
        )
    )
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        did = approved_phone(desk)
        (task,) = desk.tasks(demand_id=did)
        desk.task_milestone(task.id, "ordered")
        assert "Your phone was ordered." in [e.customer_sees for e in desk.journey(did)], "on the journey"
        assert "Your phone was ordered." not in progress_messages(desk, did), "but not sent"


def test_reassigning_names_the_new_person_and_team(desk: Desk) -> None:
    did = approved_phone(desk)
    (task,) = desk.tasks(demand_id=did)
    with pytest.raises(Conflict, match="'maria' is not in team service-desk"):  # its agents: a directory group
        desk.reassign_task(task.id, assignee="maria", team="service-desk")
    moved = desk.reassign_task(task.id, assignee="nina", team="service-desk")
    assert (moved.assignee, moved.team) == ("nina", "service-desk")
    assert desk.tasks(team="service-desk") == [moved]
    with pytest.raises(InvalidInput):
        desk.reassign_task(task.id)
    with pytest.raises(InvalidInput, match="unknown team 'logistcs'; did you mean 'logistics'"):
        desk.reassign_task(task.id, team="logistcs")  # Eagle5 declares its teams
    with pytest.raises(InvalidInput, match="unknown task state"):
        desk.tasks(state="finished")


# ---------------------------------------------------------------- the command line


def test_the_task_commands(config: Path) -> None:
    runner = CliRunner()

    def itsm(*args: str) -> tuple[int, str]:
        r = runner.invoke(cli, ["-c", str(config), *args], catch_exceptions=False)
        return r.exit_code, r.output

    with Desk.open(config, entry_points=False) as desk:
        did = approved_phone(desk)
        (task,) = desk.tasks(demand_id=did)
    code, out = itsm("task", "list", "--format", "json")
    assert code == 0 and f'"demand": {did}' in out and '"team": "logistics"' in out
    assert itsm("task", "start", str(task.id), "--assignee", "lee")[0] == 0
    code, out = itsm("task", "milestone", str(task.id), "dispatched")
    assert code == 0 and "reached 'dispatched'" in out
    code, out = itsm("task", "show", str(task.id))
    assert code == 0 and "[x] dispatched" in out and "[ ] delivered" in out and "lee" in out
    code, out = itsm("task", "milestone", str(task.id), "lost")
    assert code == 1 and "ordered, dispatched, delivered" in out and len(out.strip().splitlines()) == 1
    assert itsm("task", "done", str(task.id))[0] == 0
    code, out = itsm("task", "milestone", str(task.id), "delivered")
    assert code == 1 and "is done" in out and len(out.strip().splitlines()) == 1, out
    with Desk.open(config, entry_points=False) as desk:
        assert desk.get(did).state is DemandState.FULFILLED
    for command in ("list", "show", "start", "milestone", "done", "reassign"):
        code, out = itsm("task", command, "--help")
        assert code == 0 and len(out.split("Options:")[0].strip().splitlines()) >= 2, command


# ---------------------------------------------------------------- configuration


def bad_step(eagle5: Callable[..., Path], step: str) -> Path:
    config = eagle5()
    (config.parent / "catalog" / "bad.toml").write_text(
        f'[[services]]\nkey = "desk-move"\nname = "A desk move"\nplan = [\n  {{ action = "approval" }},\n  {step},\n]\n'
    )
    return config


def test_a_step_with_neither_action_nor_task_is_a_config_error(eagle5: Callable[..., Path]) -> None:
    config = bad_step(eagle5, '{ team = "facilities" }')
    with pytest.raises(ConfigError, match=r'plan\[1\]: expected a table with action = "..." or task = "..."'):
        Desk.open(config, entry_points=False)
    r = CliRunner().invoke(cli, ["-c", str(config), "task", "list"])
    assert r.exit_code == 2, r.output


def test_task_keys_are_checked_with_a_hint(eagle5: Callable[..., Path]) -> None:
    config = bad_step(eagle5, '{ task = "Move the desk", milestone = ["moved"] }')
    with pytest.raises(ConfigError, match=r"plan\[1\]\.milestone: unknown key; did you mean 'milestones'"):
        Desk.open(config, entry_points=False)
    config = bad_step(eagle5, '{ task = "Move the desk", action = "notify" }')
    with pytest.raises(ConfigError, match="either an action or a task, not both"):
        Desk.open(config, entry_points=False)
    config = bad_step(eagle5, '{ task = "Move the desk", milestones = ["moved", "moved"] }')
    with pytest.raises(ConfigError, match="given twice: moved"):
        Desk.open(config, entry_points=False)


def test_a_task_for_a_team_that_is_not_declared_is_a_config_error(eagle5: Callable[..., Path]) -> None:
    """Eagle5 declares its [teams]: a task naming another one fails at load, with a close match, exit 2."""
    config = bad_step(eagle5, '{ task = "Move the desk", team = "logistcs" }')
    with pytest.raises(ConfigError, match=r"plan\[1\]\.team: unknown team 'logistcs'; did you mean 'logistics'"):
        Desk.open(config, entry_points=False)
    r = CliRunner().invoke(cli, ["-c", str(config), "check"])
    assert r.exit_code == 2 and "did you mean 'logistics'" in r.output, r.output
