"""The API's teams (queue, workload, assign) and people (profile, preferences): as an integration uses them."""

from __future__ import annotations

from itsmcore import Desk
from starlette.testclient import TestClient

PROBLEM = "application/problem+json"


def bearer(desk: Desk, name: str, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {desk.new_api_token(name, scopes)[1]}"}


def test_teams_queue_workload_and_assign(client: TestClient, desk: Desk) -> None:
    agent = bearer(desk, "dispatch", "read", "agent")
    teams = client.get("/api/v1/teams", headers=agent).json()["teams"]
    desk_team = next(t for t in teams if t["key"] == "service-desk")
    assert desk_team["lead"] == "patrick" and {"patrick", "nina"} <= set(desk_team["members"])

    did = desk.submit("failure", "tony", "VPN drops", channel="phone").demand.id
    shown = client.get(f"/api/v1/demands/{did}", headers=agent).json()
    assert shown["team"] == "service-desk" and shown["assignee"] in {"patrick", "nina"}, "round robin at intake"

    r = client.post(f"/api/v1/demands/{did}/assign", headers=agent, json={"agent": "steve", "reason": "he knows VPN"})
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
    assert "nina" in r.json()["detail"] and "patrick" in r.json()["detail"], "the team's members are named"
    other = "nina" if shown["assignee"] == "patrick" else "patrick"
    r = client.post(f"/api/v1/demands/{did}/assign", headers=agent, json={"agent": other})
    assert r.status_code == 422 and "reason" in r.json()["errors"], "a reason is required"
    r = client.post(f"/api/v1/demands/{did}/assign", headers=agent, json={"agent": other, "reason": "VPN expert"})
    assert r.status_code == 200 and r.json()["assignee"] == other
    r = client.post(f"/api/v1/demands/{did}/assign", headers=agent, json={"agent": other, "reason": "again"})
    assert r.status_code == 409, "already with them"
    journey = desk.journey(did)
    assert any("VPN expert" in e.behind_scenes and e.actor == "dispatch" for e in journey), "reason and actor kept"

    queue = client.get("/api/v1/teams/service-desk/queue", headers=agent, params={"agent": other}).json()
    assert did in [e["demand"]["id"] for e in queue["entries"]]
    load = client.get("/api/v1/teams/service-desk/workload", headers=agent).json()["agents"]
    assert next(x for x in load if x["agent"] == other)["open"] >= 1
    r = client.get("/api/v1/teams/sevrice-desk/queue", headers=agent)
    assert r.status_code == 404 and "service-desk" in r.json()["detail"], "a close match is named"
    reader = bearer(desk, "wallboard", "read")
    assert client.get("/api/v1/teams/service-desk/queue", headers=reader).status_code == 403


def test_profile_and_preferences(client: TestClient, desk: Desk) -> None:
    agent = bearer(desk, "crm-sync", "read", "agent")
    did = desk.submit("failure", "steve", "CRM will not load", service="crm", channel="email").demand.id
    p = client.get("/api/v1/customers/steve/profile", headers=agent)
    assert p.status_code == 200, p.text
    profile = p.json()
    assert profile["customer"]["name"] == "Steve Jones"
    assert [d["id"] for d in profile["open_demands"]] == [did]
    assert profile["open_demands"][0]["status"] == desk.customer_status(did).text
    assert profile["channels"] == {"email": 1} and profile["preferences"]["source"] == "directory"

    r = client.patch("/api/v1/customers/steve/preferences", headers=agent, json={"channels": ["pigeon"]})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM and "pigeon" in r.json()["detail"]
    r = client.patch(
        "/api/v1/customers/steve/preferences",
        headers=agent,
        json={"quiet_hours": "22:00-07:00", "time_zone": "Europe/Paris", "surveys": False},
    )
    assert r.status_code == 200, r.text
    prefs = r.json()
    assert prefs["quiet_hours"] == "22:00-07:00 Europe/Paris" and prefs["surveys"] is False
    assert prefs["updated_by"] == "crm-sync", "the token's name is who changed it"
    assert client.get("/api/v1/customers/steve/preferences", headers=agent).json() == prefs
    assert client.get("/api/v1/customers/nobody/profile", headers=agent).status_code == 404


def test_a_customers_language_through_the_api(client: TestClient, desk: Desk) -> None:
    agent = bearer(desk, "crm-sync", "read", "agent")
    prefs = client.get("/api/v1/customers/steve/preferences", headers=agent).json()
    assert prefs["language"] == "en" and prefs["languages"] == ["en", "fr"], "the ones the deployment speaks"
    r = client.patch("/api/v1/customers/steve/preferences", headers=agent, json={"language": "fr-FR"})
    assert r.status_code == 200 and r.json()["language"] == "fr_FR"
    assert desk.translator("steve").locale == "fr_FR", "what he reads from now on"
    r = client.patch("/api/v1/customers/steve/preferences", headers=agent, json={"language": "xx-nowhere"})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert "unknown language 'xx-nowhere'" in r.json()["detail"], "named, with codes to use"
    assert client.get("/api/v1/customers/steve/preferences", headers=agent).json()["language"] == "fr_FR", "kept"
    r = client.patch("/api/v1/customers/steve/preferences", headers=agent, json={"language": 7})
    assert r.status_code in (400, 422), "not a code at all: refused"
