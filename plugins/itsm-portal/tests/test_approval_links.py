"""The approver's signed links: the GET shows what is asked and checks the link; the POST decides, once."""

from __future__ import annotations

import re
from collections.abc import Callable

from conftest import csrf_of
from itsmcore import Desk
from starlette.testclient import TestClient


def approval_link(desk: Desk, decision: str = "approve") -> str:
    body = next(m["body"] for m in desk.messages(customer="scott") if m["purpose"] == "approval")
    found = re.search(rf"http://testserver(/approvals/\S+\?decision={decision})", body)
    assert found, body
    return found.group(1)


def smartphone(desk: Desk) -> int:
    return desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visiting customers"}).demand.id


def test_the_approver_sees_what_is_asked_and_approves_once(client: TestClient, desk: Desk) -> None:
    did = smartphone(desk)
    link = approval_link(desk)
    page = client.get(link)
    assert page.status_code == 200
    assert "Steve Jones asks for A company smartphone" in page.text and "visiting customers" in page.text
    assert desk.get(did).state == "awaiting_approval", "a GET changes nothing"
    token = csrf_of(client, link)
    done = client.post(link.split("?")[0], data={"csrf": token, "decision": "approve"})
    assert done.status_code == 200 and "You approved Steve Jones" in done.text
    assert desk.get(did).state == "in_fulfilment", "approved: the plan goes on to the logistics task"
    again = client.post(link.split("?")[0], data={"csrf": token, "decision": "approve"})
    assert again.status_code == 409 and "approved already" in again.text
    shown = client.get(link)
    assert shown.status_code == 409 and "approved already" in shown.text


def test_declining_asks_for_a_reason(client: TestClient, desk: Desk) -> None:
    did = smartphone(desk)
    link = approval_link(desk, "reject")
    token = csrf_of(client, link)
    r = client.post(link.split("?")[0], data={"csrf": token, "decision": "reject", "reason": ""})
    assert r.status_code == 422 and "say why" in r.text
    assert desk.get(did).state == "awaiting_approval"
    r = client.post(link.split("?")[0], data={"csrf": token, "decision": "reject", "reason": "Use your own phone."})
    assert r.status_code == 200 and "You declined" in r.text
    assert desk.get(did).state == "rejected"


def test_a_tampered_link_says_so_at_once(client: TestClient, desk: Desk) -> None:
    smartphone(desk)
    path = approval_link(desk).split("?")[0]
    r = client.get(path[:-3] + "xyz")
    assert r.status_code == 400 and "not valid" in r.text


def test_the_link_is_the_approvers_own(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    did = smartphone(desk)
    link = approval_link(desk)
    c = sign_in("patrick")
    r = c.post(link.split("?")[0], data={"csrf": csrf_of(c, link), "decision": "approve"})
    assert r.status_code == 400 and "sent to someone else" in r.text
    assert desk.get(did).state == "awaiting_approval"
