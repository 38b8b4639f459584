"""Answers and agents' replies reach the customer; notes and the customer's own words are not sent.

The journey says a message was sent only once a channel accepted it, and says where in
the customer's words (never a channel component's name). Public API only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from itsmcore import DemandState, Desk
from itsmcore.testing import HookRecorder, ObserverContract


@pytest.fixture
def desk(eagle5: Callable[..., Path], itsm_hook_recorder: HookRecorder) -> Iterator[Desk]:
    with Desk.open(eagle5(), entry_points=False, plugins=[itsm_hook_recorder]) as d:
        yield d


def purposes(desk: Desk, demand_id: int) -> list[str]:
    return [m["purpose"] for m in desk.messages(demand_id=demand_id)]


def test_a_self_service_answer_is_sent_and_the_journey_says_where(desk: Desk, itsm_hook_recorder: HookRecorder) -> None:
    desk.submit("value", "steve", "", service="smartphone", answers={"reason": "customer visits"})
    q = desk.submit("information", "steve", "Where is the smartphone I requested?", channel="phone").demand
    assert desk.get(q.id).state is DemandState.ANSWERED
    [answer] = [m for m in desk.messages(demand_id=q.id) if m["purpose"] == "answer"]
    assert "waiting for approval" in answer["body"]
    # nobody in the example can be emailed: it waits in the portal inbox, and the journey says so
    sent = [e.customer_sees for e in desk.journey(q.id) if e.kind == "notification"]
    assert "We left the answer in your messages on the portal." in sent
    assert not any("log" in s.split() for s in sent), "no channel component's name"
    ObserverContract.assert_complete(desk, itsm_hook_recorder)


def test_an_agents_reply_is_sent_but_a_note_and_the_customers_own_comment_are_not(
    desk: Desk, itsm_hook_recorder: HookRecorder
) -> None:
    d = desk.submit("failure", "tony", "printer jam", channel="phone").demand
    assert "reply" not in purposes(desk, d.id)
    desk.comment(d.id, "Is it the printer on floor 3?", actor="agent")
    [reply] = [m for m in desk.messages(demand_id=d.id) if m["purpose"] == "reply"]
    assert reply["body"] == "Is it the printer on floor 3?"
    assert "We left our reply in your messages on the portal." in [e.customer_sees for e in desk.journey(d.id)]

    desk.record_event(d.id, actor="agent", behind_scenes="patrick: the roller looks worn", kind="note")
    desk.comment(d.id, "Yes, by the window.", actor="customer", channel="email")
    assert purposes(desk, d.id).count("reply") == 1, "neither a note nor the customer's own words are sent"
    assert not any("roller" in m["body"] for m in desk.messages(demand_id=d.id))
    [note] = [e for e in desk.journey(d.id) if e.kind == "note" and "roller" in e.behind_scenes]
    assert note.customer_sees == "", "a note is never shown to the customer"
    ObserverContract.assert_complete(desk, itsm_hook_recorder)
