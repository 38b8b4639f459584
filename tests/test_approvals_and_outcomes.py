"""Approvers are told (signed links, single use, a reminder), and foreseen step outcomes are not "stuck".

Only the public API: a demand is submitted, its steps run, and what the customer and the
approver are told, and where the demand stands, are checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from itsmcore import (
    ActionComponent,
    ActionRequest,
    ActionResult,
    AlreadyDone,
    ComponentContext,
    Conflict,
    DemandState,
    Desk,
    Forbidden,
    InvalidAnswers,
    ItsmError,
    NoSettings,
    hookimpl,
)
from itsmcore.testing import HookRecorder, ObserverContract


class Clock:
    """A clock the test moves forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


class Accounts:
    """Expensatron's account step: Steve has an account already, and says so."""

    @hookimpl
    def itsm_fulfilment_actions(self) -> list[ActionComponent]:
        class Action:
            def __init__(self, _settings: object, _context: ComponentContext) -> None:
                pass

            def run(self, request: ActionRequest) -> ActionResult | AlreadyDone:
                if request.customer.id == "steve":  # returned here; the http action raises it
                    return AlreadyDone(
                        "You already have an Expensatron account (steve); nothing to set up.", {"login": "steve"}
                    )
                return ActionResult(customer_sees="Your account is ready.")

        return [ActionComponent(name="test.accounts", factory=Action, params=NoSettings, description="accounts")]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def config(eagle5: Callable[..., Path]) -> Path:
    path = eagle5(extra="\n[approvals]\nlink_days = 3\nremind_after_hours = 24\n")
    services = path.parent / "catalog" / "services.toml"
    services.write_text(
        services.read_text().replace(
            '  { action = "cmdb.verify_device" },',
            '  { action = "cmdb.verify_device" },\n  { action = "test.accounts" },',
        )
    )
    return path


@pytest.fixture
def desk(config: Path, clock: Clock, itsm_hook_recorder: HookRecorder) -> Iterator[Desk]:
    with Desk.open(config, entry_points=False, clock=clock, plugins=[itsm_hook_recorder, Accounts()]) as d:
        yield d


def links(desk: Desk, customer: str, purpose: str) -> dict[str, str]:
    """The links (title -> token and query) in the newest message of ``purpose`` sent to ``customer``."""
    message = next(m for m in desk.messages(customer=customer) if m["purpose"] == purpose)
    found = {}
    for line in message["body"].splitlines():
        title, sep, url = line.partition(": ")
        if sep and url.startswith("http"):
            found[title] = urlsplit(url).path.rsplit("/", 1)[-1]
    return found


def phone_request(desk: Desk) -> int:
    d = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visiting customers"}).demand
    assert desk.get(d.id).state is DemandState.AWAITING_APPROVAL
    return d.id


# ---------------------------------------------------------------- approvers are told


def test_the_approver_is_asked_with_approve_and_decline_links(desk: Desk) -> None:
    did = phone_request(desk)
    (asked,) = [m for m in desk.messages(customer="scott") if m["purpose"] == "approval"]
    assert asked["demand_id"] == did
    assert "Steve Jones asks for A company smartphone" in asked["body"] and "visiting customers" in asked["body"]
    assert set(links(desk, "scott", "approval")) == {"Approve", "Decline"}
    steve_sees = " ".join(e.customer_sees for e in desk.journey(did))
    assert "asks for" not in steve_sees, "the approver's message is not the customer's"
    assert "Scott (your manager)" in steve_sees


def test_approving_through_the_link_carries_the_plan_on(desk: Desk, itsm_hook_recorder: HookRecorder) -> None:
    did = phone_request(desk)
    token = links(desk, "scott", "approval")["Approve"].split("?")[0]
    asked = desk.approval_asked(token)
    assert (asked.customer, asked.approver, asked.what) == ("Steve Jones", "Scott Miller", "A company smartphone")
    assert asked.reason == "visiting customers" and asked.demand.id == did
    desk.approve_by_link(token, True)
    assert desk.get(did).state is DemandState.IN_FULFILMENT, "approved: the plan goes on to its task"
    assert any(e.customer_sees == "Scott Miller approved your request." for e in desk.journey(did))
    ObserverContract.assert_complete(desk, itsm_hook_recorder)


def test_a_link_used_twice_changes_nothing_and_says_why(desk: Desk) -> None:
    did = phone_request(desk)
    token = links(desk, "scott", "approval")["Decline"].split("?")[0]
    with pytest.raises(InvalidAnswers, match="say why"):
        desk.approve_by_link(token, False, "")
    desk.approve_by_link(token, False, "we have spare phones in the cupboard")
    assert desk.get(did).state is DemandState.REJECTED
    events = len(desk.journey(did))
    for attempt in (lambda: desk.approval_asked(token), lambda: desk.approve_by_link(token, True)):
        with pytest.raises(Conflict, match="declined already; this link changes nothing"):
            attempt()
    assert desk.get(did).state is DemandState.REJECTED and len(desk.journey(did)) == events


def test_an_expired_or_tampered_link_changes_nothing_and_says_why(desk: Desk, clock: Clock) -> None:
    did = phone_request(desk)
    token = links(desk, "scott", "approval")["Approve"].split("?")[0]
    payload, mac = token.split(".")
    with pytest.raises(ItsmError, match="not valid"):
        desk.approve_by_link(f"{payload}.{mac[:-2]}xx", True)
    with pytest.raises(ItsmError, match="sent to someone else"):
        desk.approve_by_link(token, True, approver="patrick")
    clock.advance(days=3, minutes=1)
    with pytest.raises(ItsmError, match="approval link has expired"):
        desk.approval_asked(token)
    with pytest.raises(ItsmError, match="approval link has expired"):
        desk.approve_by_link(token, True)
    assert desk.get(did).state is DemandState.AWAITING_APPROVAL


def test_the_reminder_is_sent_once_after_the_configured_time(
    desk: Desk, clock: Clock, itsm_hook_recorder: HookRecorder
) -> None:
    did = phone_request(desk)
    clock.advance(hours=23)
    desk.run_due_jobs()
    assert not [m for m in desk.messages(customer="scott") if m["purpose"] == "approval_reminder"]
    clock.advance(hours=2)
    desk.run_due_jobs()
    clock.advance(days=2)
    desk.run_due_jobs()
    reminders = [m for m in desk.messages(customer="scott") if m["purpose"] == "approval_reminder"]
    assert len(reminders) == 1 and "still waiting for your approval" in reminders[0]["body"]
    assert set(links(desk, "scott", "approval_reminder")) == {"Approve", "Decline"}
    assert any(e.customer_sees == "We reminded Scott (your manager) about your request." for e in desk.journey(did))
    # the reminder's link is fresh: it works after the first message's link expired
    desk.approve_by_link(links(desk, "scott", "approval_reminder")["Approve"].split("?")[0], True)
    assert desk.get(did).state is DemandState.IN_FULFILMENT
    ObserverContract.assert_complete(desk, itsm_hook_recorder)


def test_no_reminder_once_approved(desk: Desk, clock: Clock) -> None:
    did = phone_request(desk)
    desk.approve(did, "scott")
    clock.advance(hours=25)
    desk.run_due_jobs()
    assert not [m for m in desk.messages(customer="scott") if m["purpose"] == "approval_reminder"]
    assert not any("reminded" in e.customer_sees for e in desk.journey(did))
    assert {j.state for j in desk.jobs(demand_id=did)} == {"done"}


def test_approval_on_someones_behalf_names_both(desk: Desk) -> None:
    did = phone_request(desk)
    with pytest.raises(Forbidden, match="waits for scott, not tony"):
        desk.approve(did, "patrick", on_behalf_of="tony")
    desk.approve(did, "patrick", "Scott asked me to.", on_behalf_of="scott")
    journey = desk.journey(did)
    (approved,) = [e for e in journey if e.kind == "approved"]
    assert (
        approved.customer_sees == "Patrick Hale, on behalf of Scott Miller, approved your request. Scott asked me to."
    )
    assert approved.behind_scenes == "approved by patrick on behalf of scott"
    assert desk.get(did).state is DemandState.IN_FULFILMENT


# ---------------------------------------------------------------- foreseen outcomes


def test_already_done_counts_as_done_and_names_what_exists(desk: Desk) -> None:
    d = desk.submit("value", "steve", "", service="expensatron", answers={"mobile_number": "+44 7700 900123"}).demand
    view = desk.show(d.id)
    assert view.demand.state is DemandState.FULFILLED
    assert any(
        e.customer_sees == "You already have an Expensatron account (steve); nothing to set up." for e in view.journey
    )
    assert view.outputs["login"] == "steve" and {j.state for j in view.jobs} == {"done"}


def test_needs_customer_waits_and_a_correction_runs_the_step_again(
    desk: Desk, itsm_hook_recorder: HookRecorder
) -> None:
    d = desk.submit("value", "steve", "", service="expensatron", answers={"mobile_number": "+447700900999"}).demand
    assert desk.get(d.id).waiting_for == "your corrected mobile number"
    (told,) = [m for m in desk.messages(demand_id=d.id) if m["purpose"] == "correction"]
    assert "+447700900999 is not registered to you" in told["body"] and told["customer_id"] == "steve"
    with pytest.raises(InvalidAnswers):
        desk.customer_corrected(d.id, {"mobile_number": "not a number"})
    desk.customer_corrected(d.id, {"mobile_number": "+447700900111"})  # wrong again: asked again
    d2 = desk.get(d.id)
    assert d2.state is DemandState.IN_FULFILMENT and d2.waiting_for == "your corrected mobile number"
    desk.comment(d.id, "Which number do you mean?", actor="customer")  # not an answer: stays a comment
    assert desk.get(d.id).waiting_for == "your corrected mobile number"
    desk.comment(d.id, "+44 7700 900123", actor="customer", channel="email")  # a reply that is the answer
    view = desk.show(d.id)
    assert view.demand.state is DemandState.FULFILLED and view.demand.answers["mobile_number"] == "+447700900123"
    assert any("trying again with your corrected mobile number" in e.customer_sees for e in view.journey)
    with pytest.raises(Conflict, match="not waiting for the customer"):
        desk.customer_corrected(d.id, {"mobile_number": "+447700900123"})
    ObserverContract.assert_complete(desk, itsm_hook_recorder)
