"""Planned changes in the portal and the API: the desk's change calendar, decisions on a change's page, refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from conftest import csrf_of
from itsmcore import Desk
from starlette.testclient import TestClient

PROBLEM = "application/problem+json"
UPGRADE = {
    "title": "Quote system upgrade",
    "start": "2030-03-06T18:00",
    "end": "2030-03-06T22:00",
    "services": ["crm"],
    "approvers": ["patrick", "nina"],
    "risk": "medium",
}


def bearer(desk: Desk, name: str, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {desk.new_api_token(name, scopes)[1]}"}


def test_a_change_through_the_api_every_approver_once_and_steps_in_order(client: TestClient, desk: Desk) -> None:
    agent = bearer(desk, "change-board", "read", "agent")
    r = client.post("/api/v1/changes", headers=agent, json={**UPGRADE, "end": "2030-03-06T17:00"})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert "17:00" in r.text and "18:00" in r.text, "both times named"
    r = client.post("/api/v1/changes", headers=agent, json={**UPGRADE, "services": ["crmm"]})
    assert r.status_code == 404 and "did you mean 'crm'" in r.text
    assert client.get("/api/v1/changes", headers=agent).json()["changes"] == [], "nothing kept"
    r = client.post("/api/v1/changes", headers=agent, json=UPGRADE)
    assert r.status_code == 201, r.text
    change = r.json()
    assert (change["state"], change["waiting_for"], change["owner"]) == (
        "proposed",
        ["patrick", "nina"],
        "change-board",
    )
    cid = change["id"]
    r = client.post(f"/api/v1/changes/{cid}/start", headers=agent, json={})
    assert r.status_code == 409 and r.json()["allowed"] == ["approved", "cancelled", "rejected"]
    r = client.post(f"/api/v1/changes/{cid}/approve", headers=agent, json={"on_behalf_of": "patrick"})
    assert r.status_code == 200 and r.json()["waiting_for"] == ["nina"]
    r = client.post(f"/api/v1/changes/{cid}/approve", headers=agent, json={"on_behalf_of": "patrick"})
    assert r.status_code == 409 and "patrick already approved" in r.text
    r = client.post(f"/api/v1/changes/{cid}/approve", headers=agent, json={})
    assert r.status_code == 403 and "not an approver" in r.text
    r = client.post(f"/api/v1/changes/{cid}/approve", headers=agent, json={"on_behalf_of": "nina", "note": "ok"})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    assert [(d["approver"], d["on_behalf_of"]) for d in r.json()["decisions"]] == [
        ("change-board", "patrick"),
        ("change-board", "nina"),
    ]
    cal = client.get("/api/v1/changes/calendar", headers=agent, params={"start": "2030-03-01", "days": 7}).json()
    assert [c["id"] for c in cal["changes"]] == [cid]
    assert client.post(f"/api/v1/changes/{cid}/start", headers=agent, json={}).json()["state"] == "in_progress"
    done = client.post(f"/api/v1/changes/{cid}/complete", headers=agent, json={"note": "Quotes are faster now."})
    assert done.json()["state"] == "completed" and done.json()["allowed"] == []


def test_the_desk_calendar_shows_the_change_and_an_approver_decides_on_its_page(
    sign_in: Callable[..., TestClient], desk: Desk, second_client: TestClient
) -> None:
    start = desk.clock().replace(microsecond=0)
    change = desk.new_change(
        "Quote system upgrade",
        start=start + timedelta(days=2),
        end=start + timedelta(days=2, hours=4),
        services=["crm"],
        approvers=["patrick", "scott"],
    )
    c = sign_in("patrick")
    page = c.get("/desk/changes")
    assert page.status_code == 200
    assert f'href="/desk/changes/{change.id}"' in page.text and "waiting for patrick, scott" in page.text
    token = csrf_of(c, f"/desk/changes/{change.id}")
    r = c.post(f"/desk/changes/{change.id}/approve", data={"csrf": token})
    assert r.status_code == 303
    page = c.get(f"/desk/changes/{change.id}")
    assert "Your approval is recorded." in page.text and "patrick approved on" in page.text
    assert "scott has not decided yet" in page.text
    r = c.post(f"/desk/changes/{change.id}/start", data={"csrf": token})
    page = c.get(f"/desk/changes/{change.id}")
    assert "is proposed and cannot become in_progress" in page.text, "the refusal is said, with what is allowed"
    assert desk.get_change(change.id).state == "proposed"
    # Scott is no agent: the calendar is not for him, but the change he is asked to approve is
    scott = sign_in("scott", on=second_client)
    assert scott.get("/desk/changes").status_code == 403, "the calendar is for the service desk"
    page = scott.get(f"/desk/changes/{change.id}")
    assert page.status_code == 200 and "Approve" in page.text and "Start the work" not in page.text
    token = csrf_of(scott, f"/desk/changes/{change.id}")
    assert scott.post(f"/desk/changes/{change.id}/cancel", data={"csrf": token}).status_code == 403
    assert scott.post(f"/desk/changes/{change.id}/approve", data={"csrf": token}).status_code == 303
    assert desk.get_change(change.id).state == "approved"
