"""Problems through the API: open, link incidents (a request refused), known error, resolve; 404 and 409 as problem details."""

from __future__ import annotations

from itsmcore import Desk
from starlette.testclient import TestClient

PROBLEM = "application/problem+json"


def bearer(desk: Desk, name: str, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {desk.new_api_token(name, scopes)[1]}"}


def test_a_problem_from_open_to_resolved(client: TestClient, desk: Desk) -> None:
    agent = bearer(desk, "problem-board", "read", "agent")
    steve = desk.submit("failure", "steve", "The CRM will not load", service="crm").demand.id
    phone = desk.submit("failure", "tony", "My phone will not ring", service="smartphone").demand.id
    request = desk.submit("value", "steve", "", service="expensatron").demand.id

    r = client.post("/api/v1/problems", headers=agent, json={"title": "CRM outages", "cis": ["crm-db-01"]})
    assert r.status_code == 201, r.text
    problem = r.json()
    pid = problem["id"]
    assert problem["services"] == ["crm"] and problem["state"] == "new" and problem["opened_by"] == "problem-board"

    r = client.post(f"/api/v1/problems/{pid}/incidents", headers=agent, json={"demand": steve})
    assert r.status_code == 200 and [i["demand"] for i in r.json()["incidents"]] == [steve]
    # an incident of another service is linked, and marked
    r = client.post(f"/api/v1/problems/{pid}/incidents", headers=agent, json={"demand": phone})
    assert r.status_code == 200
    assert [(i["demand"], i["other_service"]) for i in r.json()["incidents"]] == [(steve, False), (phone, True)]
    # a request is refused, naming why
    r = client.post(f"/api/v1/problems/{pid}/incidents", headers=agent, json={"demand": request})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert "not an incident" in r.json()["detail"]
    r = client.delete(f"/api/v1/problems/{pid}/incidents/{phone}", headers=agent)
    assert r.status_code == 200 and [i["demand"] for i in r.json()["incidents"]] == [steve]

    r = client.post(
        f"/api/v1/problems/{pid}/known-error",
        headers=agent,
        json={"root_cause": "The database runs out of connections.", "workaround": "Use the CRM mobile app."},
    )
    assert r.status_code == 200 and r.json()["state"] == "known_error"
    article = client.get(f"/api/v1/knowledge/{r.json()['article']}", headers=agent).json()
    assert article["state"] == "published" and "Use the CRM mobile app." in article["body"]
    r = client.post(f"/api/v1/problems/{pid}/announce", headers=agent, json={"estimate": "by noon"})
    assert r.status_code == 200 and [a["service"] for a in r.json()["announcements"]] == ["crm"]

    r = client.post(f"/api/v1/problems/{pid}/resolve", headers=agent, json={"resolution": "More connections."})
    assert r.status_code == 200 and r.json()["state"] == "resolved" and r.json()["allowed"] == []
    assert desk.get(steve).state == "resolved"
    # an invalid move: 409 naming the state and what is allowed from there
    r = client.post(f"/api/v1/problems/{pid}/investigate", headers=agent, json={})
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
    assert (r.json()["state"], r.json()["allowed"]) == ("resolved", [])
    listed = client.get("/api/v1/problems", headers=agent, params={"state": "resolved"}).json()["problems"]
    assert [p["id"] for p in listed] == [pid]


def test_unknown_problems_and_scopes(client: TestClient, desk: Desk) -> None:
    reader = bearer(desk, "intranet", "read")
    assert client.get("/api/v1/problems").status_code == 401
    r = client.get("/api/v1/problems/424242", headers=reader)
    assert r.status_code == 404 and "unknown problem 424242" in r.json()["detail"]
    r = client.post("/api/v1/problems", headers=reader, json={"title": "X", "services": ["crm"]})
    assert r.status_code == 403 and r.json()["scope"] == "agent"
    assert client.get("/api/v1/problems", headers=reader, params={"state": "solved"}).status_code == 422
    agent = bearer(desk, "board", "agent", "read")
    r = client.post("/api/v1/problems", headers=agent, json={"title": "X", "services": ["crmm"]})
    assert r.status_code == 422 and "crm" in r.json()["errors"]["services"]
