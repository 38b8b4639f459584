"""Tasks in the JSON API: a team's work list, and the milestones the customer follows like a parcel."""

from __future__ import annotations

from conftest import API_TOKEN
from itsmcore import Desk
from starlette.testclient import TestClient

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def approved_phone(desk: Desk) -> int:
    """Steve's smartphone, approved by Scott: the plan waits on the logistics team's task."""
    phone = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "customer visits"}).demand
    desk.approve(phone.id, "scott")
    return phone.id


def test_tasks_need_a_token(client: TestClient) -> None:
    assert client.get("/api/v1/tasks").status_code == 401
    assert client.post("/api/v1/tasks/1/milestones", json={"milestone": "ordered"}).status_code == 401


def test_list_tasks_by_team_and_state(client: TestClient, desk: Desk) -> None:
    did = approved_phone(desk)
    r = client.get("/api/v1/tasks", headers=AUTH, params={"team": "logistics"})
    assert r.status_code == 200, r.text
    [task] = r.json()["tasks"]
    assert task["demand_id"] == did and task["title"] == "Order and ship the phone"
    assert task["state"] == "open" and task["milestones"] == [] and task["expected"] == "3 working days"
    assert client.get("/api/v1/tasks", headers=AUTH, params={"team": "facilities"}).json() == {"tasks": []}
    assert client.get("/api/v1/tasks", headers=AUTH, params={"state": "done"}).json() == {"tasks": []}
    assert len(client.get("/api/v1/tasks", headers=AUTH, params={"state": "open"}).json()["tasks"]) == 1
    bad = client.get("/api/v1/tasks", headers=AUTH, params={"state": "lost"})
    assert bad.status_code == 422 and "open, started, done" in bad.json()["errors"]["state"]


def test_milestones_until_delivered(client: TestClient, desk: Desk) -> None:
    did = approved_phone(desk)
    [task] = desk.tasks(demand_id=did)
    url = f"/api/v1/tasks/{task.id}/milestones"

    r = client.post(url, headers=AUTH, json={"milestone": "dispatched"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "started" and [m["name"] for m in r.json()["milestones"]] == ["dispatched"]
    assert any(e.kind == "milestone" and "dispatched" in e.customer_sees for e in desk.journey(did))

    again = client.post(url, headers=AUTH, json={"milestone": "dispatched"})
    assert again.status_code == 409
    assert sorted(again.json()["allowed"]) == ["delivered", "ordered"]

    unknown = client.post(url, headers=AUTH, json={"milestone": "lost in the post"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"]["milestone"] == "one of ordered, dispatched, delivered"
    blank = client.post(url, headers=AUTH, json={})
    assert blank.status_code == 422 and "ordered, dispatched, delivered" in blank.json()["errors"]["milestone"]

    for name in ("ordered", "delivered"):
        assert client.post(url, headers=AUTH, json={"milestone": name}).status_code == 200
    assert desk.task(task.id).state == "done" and desk.get(did).state == "fulfilled"
    done = client.post(url, headers=AUTH, json={"milestone": "delivered"})
    assert done.status_code == 409 and done.json()["state"] == "done"

    assert client.post("/api/v1/tasks/999/milestones", headers=AUTH, json={"milestone": "x"}).status_code == 404
    assert client.post(url, headers=AUTH | {"Content-Type": "application/json"}, content=b"[1]").status_code == 400


def test_tasks_are_in_the_openapi_schema(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["paths"]["/tasks"]["get"]["security"] == [{"bearer": []}]
    post = schema["paths"]["/tasks/{tid}/milestones"]["post"]
    assert {"409", "422", "401", "404"} <= set(post["responses"])
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Milestone"}
    assert "Task" in schema["components"]["schemas"]
