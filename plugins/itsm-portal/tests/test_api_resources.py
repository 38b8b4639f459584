"""The API covers what the desk can do: each resource through HTTP, as an integration uses it."""

from __future__ import annotations

from conftest import API_TOKEN
from itsmcore import Desk
from starlette.testclient import TestClient

OLDER = {"Authorization": f"Bearer {API_TOKEN}"}
PROBLEM = "application/problem+json"


def bearer(desk: Desk, name: str, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {desk.new_api_token(name, scopes)[1]}"}


def phone(desk: Desk) -> int:
    """Steve's smartphone: it waits for Scott's approval."""
    return desk.submit("value", "steve", "", service="smartphone", answers={"reason": "customer visits"}).demand.id


def test_demands_come_a_page_at_a_time(client: TestClient, desk: Desk) -> None:
    ids = [desk.submit("failure", "tony", f"VPN drops {i}", channel="phone").demand.id for i in range(5)]
    seen: list[int] = []
    url, filters = "/api/v1/demands", {"customer": "tony", "limit": "2"}
    r = client.get(url, headers=OLDER, params=filters)
    while True:
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [d["id"] for d in page["demands"]]
        if page["next_cursor"] is None:
            break
        r = client.get(url, headers=OLDER, params=filters | {"cursor": page["next_cursor"]})
    assert seen == sorted(ids, reverse=True)
    first = client.get(url, headers=OLDER, params=filters).json()
    cursor = first["next_cursor"]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for bad in (tampered, "not-a-cursor", cursor.split(".")[0]):
        r = client.get(url, headers=OLDER, params=filters | {"cursor": bad})
        assert r.status_code == 400 and r.headers["content-type"] == PROBLEM, r.text
        assert "cursor" in r.json()["detail"]
    other = client.get(url, headers=OLDER, params=filters | {"customer": "steve", "cursor": cursor})
    assert other.status_code == 400 and "other filters" in other.json()["detail"]


def test_transition_resolve_and_journey(client: TestClient, desk: Desk) -> None:
    did = desk.submit("failure", "tony", "VPN drops", channel="phone").demand.id
    r = client.post(f"/api/v1/demands/{did}/transition", headers=OLDER, json={"state": "closed"})
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["status"] == 409 and problem["state"] == "new" and "in_progress" in problem["allowed"]
    assert problem["title"] == "Conflict" and problem["type"].startswith("tag:")
    r = client.post(f"/api/v1/demands/{did}/transition", headers=OLDER, json={"state": "in_progress"})
    assert r.status_code == 200 and r.json()["state"] == "in_progress"
    r = client.post(f"/api/v1/demands/{did}/resolve", headers=OLDER, json={"resolution": "Reset the VPN profile."})
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    journey = client.get(f"/api/v1/demands/{did}/journey", headers=OLDER).json()["journey"]
    assert {e["actor"] for e in journey if e["kind"] == "state"} == {"monitoring"}  # the token's name
    assert any("Reset the VPN profile." in e["customer_sees"] for e in journey)


def test_comments_public_and_internal(client: TestClient, desk: Desk) -> None:
    did = desk.submit("failure", "tony", "VPN drops", channel="phone").demand.id
    public = client.post(f"/api/v1/demands/{did}/comments", headers=OLDER, json={"text": "Looking at it now"})
    assert public.status_code == 201 and public.json()["customer_sees"] == "Looking at it now"
    internal = client.post(
        f"/api/v1/demands/{did}/comments", headers=OLDER, json={"text": "VPN gateway 2 again", "visibility": "internal"}
    )
    assert internal.status_code == 201, internal.text
    assert internal.json()["customer_sees"] == "" and internal.json()["behind_scenes"] == "VPN gateway 2 again"
    assert internal.json()["actor"] == "monitoring"
    customer_view = " ".join(e.customer_sees for e in desk.journey(did))
    assert "VPN gateway 2" not in customer_view
    writer = bearer(desk, "chatbot", "write")
    r = client.post(f"/api/v1/demands/{did}/comments", headers=writer, json={"text": "note", "visibility": "internal"})
    assert r.status_code == 403 and r.json()["scope"] == "agent" and r.headers["content-type"] == PROBLEM


def test_approve_and_reject(client: TestClient, desk: Desk) -> None:
    one, two = phone(desk), phone(desk)
    assert desk.get(one).state == "awaiting_approval"
    r = client.post(f"/api/v1/demands/{one}/approve", headers=OLDER, json={"on_behalf_of": "scott", "note": "ok"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] != "awaiting_approval"
    again = client.post(f"/api/v1/demands/{one}/approve", headers=OLDER, json={"on_behalf_of": "scott"})
    assert again.status_code == 409 and again.json()["state"]
    wrong = client.post(f"/api/v1/demands/{two}/reject", headers=OLDER, json={"on_behalf_of": "tony", "reason": "no"})
    assert wrong.status_code == 403 and wrong.headers["content-type"] == PROBLEM
    no_reason = client.post(f"/api/v1/demands/{two}/reject", headers=OLDER, json={"on_behalf_of": "scott"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["errors"]
    r = client.post(
        f"/api/v1/demands/{two}/reject", headers=OLDER, json={"on_behalf_of": "scott", "reason": "Budget is spent"}
    )
    assert r.status_code == 200 and r.json()["state"] == "rejected"


def test_announcements_update_affects_me_and_ledger(client: TestClient, desk: Desk) -> None:
    r = client.post("/api/v1/announcements", headers=OLDER, json={"service": "crm", "title": "CRM is slow"})
    assert r.status_code == 201
    aid = r.json()["id"]
    assert client.get(f"/api/v1/announcements/{aid}", headers=OLDER).json()["title"] == "CRM is slow"
    r = client.patch(f"/api/v1/announcements/{aid}", headers=OLDER, json={"estimate": "by 3pm"})
    assert r.status_code == 200 and r.json()["estimate"] == "by 3pm"
    r = client.post(f"/api/v1/announcements/{aid}/affects-me", headers=OLDER, json={"customer": "tony"})
    assert r.status_code == 200 and desk.get(r.json()["demand_id"]).customer_id == "tony"
    ledger = client.get(f"/api/v1/announcements/{aid}/ledger", headers=OLDER).json()
    assert ledger["affected"] == 1 and ledger["announcement"]["id"] == aid
    assert client.get("/api/v1/announcements?service=crm&open=true", headers=OLDER).json()["announcements"]
    client.post(f"/api/v1/announcements/{aid}/resolve", headers=OLDER, json={"resolution": "Fixed."})
    r = client.patch(f"/api/v1/announcements/{aid}", headers=OLDER, json={"estimate": "later"})
    assert r.status_code == 409 and r.json()["state"] == "resolved"


def test_customers_their_demands_and_subscriptions(client: TestClient, desk: Desk) -> None:
    found = client.get("/api/v1/customers?q=ton", headers=OLDER).json()["customers"]
    assert "tony" in [c["id"] for c in found]
    r = client.get("/api/v1/customers?q=t", headers=OLDER)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM, "two letters or digits at least"
    assert client.get("/api/v1/customers/tony", headers=OLDER).json()["id"] == "tony"
    assert client.get("/api/v1/customers/nobody-here", headers=OLDER).status_code == 404
    did = desk.submit("failure", "tony", "VPN drops", channel="phone").demand.id
    assert did in [d["id"] for d in client.get("/api/v1/customers/tony/demands", headers=OLDER).json()["demands"]]
    r = client.post("/api/v1/customers/tony/subscriptions", headers=OLDER, json={"service": "crm"})
    assert r.status_code == 200 and "crm" in r.json()["services"]
    assert "crm" in client.get("/api/v1/customers/tony/subscriptions", headers=OLDER).json()["services"]
    r = client.delete("/api/v1/customers/tony/subscriptions/crm", headers=OLDER)
    assert r.status_code == 200 and "crm" not in r.json()["services"]
    assert desk.subscriptions_of("tony") == r.json()["services"]
    r = client.post("/api/v1/customers/tony/subscriptions", headers=OLDER, json={"service": "no-such-service"})
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


def test_jobs_catalog_eligibility_and_reports(client: TestClient, desk: Desk) -> None:
    desk.submit("failure", "tony", "VPN drops", channel="phone")
    jobs = client.get("/api/v1/jobs?limit=5", headers=OLDER).json()["jobs"]
    assert jobs
    one = jobs[0]
    assert client.get(f"/api/v1/jobs/{one['id']}", headers=OLDER).json()["id"] == one["id"]
    if one["state"] != "dead":
        r = client.post(f"/api/v1/jobs/{one['id']}/retry", headers=OLDER)
        assert r.status_code == 409 and r.json()["state"] == one["state"]
    hits = client.get("/api/v1/catalog?q=expenses&customer=steve", headers=OLDER).json()["results"]
    assert hits and "eligible" in hits[0]
    service = client.get("/api/v1/services/expensatron", headers=OLDER).json()
    assert service["key"] == "expensatron"
    yes = client.get("/api/v1/services/expensatron/eligibility?customer=steve", headers=OLDER).json()
    no = client.get("/api/v1/services/expensatron/eligibility?customer=susan", headers=OLDER).json()
    assert yes["eligible"] is True and no["eligible"] is False and no["reason"]
    names = client.get("/api/v1/reports", headers=OLDER).json()["reports"]
    assert "failure-demand" in names and "journeys" in names
    r = client.get("/api/v1/reports/failure-demand?since=2020-01-01", headers=OLDER)
    assert r.status_code == 200, r.text
    assert r.json()["report"] == "failure-demand" and r.json()["scope"]["since"] == "2020-01-01"
    assert client.get("/api/v1/reports/journeys", headers=OLDER).status_code == 200
    assert client.get("/api/v1/reports/nonsense", headers=OLDER).status_code == 404
    bad = client.get("/api/v1/reports/journeys?since=yesterday-ish", headers=OLDER)
    assert bad.status_code == 422 and "since" in bad.json()["errors"]


# ---------------------------------------------------------------------------- bad input


def test_bad_bodies_answer_422_naming_the_field(client: TestClient, desk: Desk) -> None:
    did = desk.submit("failure", "tony", "VPN drops", channel="phone").demand.id
    before = len(desk.journey(did))
    for path, body, field, says in (
        ("/api/v1/demands", {"customer": "steve", "colour": "blue"}, "colour", "unknown field"),
        ("/api/v1/demands", {"customer": 7}, "customer", "expected str"),
        ("/api/v1/demands", {"summary": "no customer"}, "customer", "required"),
        ("/api/v1/demands", {"customer": "   "}, "customer", "blank"),
        (f"/api/v1/demands/{did}/transition", {"state": "sideways"}, "state", "one of"),
        (f"/api/v1/demands/{did}/transition", {}, "state", "required"),
        (f"/api/v1/demands/{did}/resolve", {"resolution": ["x"]}, "resolution", "expected str"),
        (f"/api/v1/demands/{did}/comments", {"text": "hi", "visibility": "secret"}, "visibility", "public, internal"),
        ("/api/v1/announcements", {"service": "crm", "title": "x", "links": [{"url": 3}]}, "links[0].url", "str"),
    ):
        r = client.post(path, headers=OLDER, json=body)
        assert r.status_code == 422, (path, body, r.text)
        assert r.headers["content-type"] == PROBLEM
        problem = r.json()
        assert problem["status"] == 422 and field in problem["errors"], (path, body, problem)
        assert says in problem["errors"][field], (path, body, problem)
    assert len(desk.journey(did)) == before and desk.get(did).state == "new"  # nothing changed
    r = client.get("/api/v1/demands?limit=0", headers=OLDER)
    assert r.status_code == 422 and "limit" in r.json()["errors"]
    r = client.get("/api/v1/demands?colour=blue", headers=OLDER)
    assert r.status_code == 422 and "colour" in r.json()["errors"]
    r = client.post("/api/v1/demands", headers=OLDER, content=b'{"customer": "steve"}')
    assert r.status_code == 415 and r.headers["content-type"] == PROBLEM


def test_ids_out_of_range_and_unknown_paths_are_404_problems(client: TestClient) -> None:
    for r in (
        client.get("/api/v1/demands/99999999999999999999999", headers=OLDER),
        client.get("/api/v1/demands/-1/journey", headers=OLDER),
        client.post("/api/v1/jobs/123456789012345678901/retry", headers=OLDER),
        client.get("/api/v1/announcements/1e9", headers=OLDER),
        client.get("/api/v1/no-such-thing", headers=OLDER),
    ):
        assert r.status_code == 404, r.request.url
        assert r.headers["content-type"] == PROBLEM and r.json()["status"] == 404


def test_scope_too_low_is_a_403_problem_naming_the_scope(client: TestClient, desk: Desk) -> None:
    read = bearer(desk, "dashboard", "read")
    did = desk.submit("failure", "tony", "VPN drops", channel="phone").demand.id
    for method, path, body in (
        ("POST", f"/api/v1/demands/{did}/resolve", {"resolution": "x"}),
        ("POST", f"/api/v1/demands/{did}/approve", {}),
        ("GET", "/api/v1/jobs", None),
        ("GET", "/api/v1/tokens", None),
    ):
        r = client.request(method, path, headers=read, json=body)
        assert r.status_code == 403 and r.headers["content-type"] == PROBLEM, (path, r.text)
        assert r.json()["scope"] in ("agent", "admin") and "dashboard" in r.json()["detail"]
    r = client.get("/api/v1/demands")
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM and r.headers["www-authenticate"]


def test_every_operation_is_documented_with_its_scope(client: TestClient) -> None:
    from itsm_portal.api import OPERATIONS

    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    for op in OPERATIONS:
        documented = doc["paths"][op.path][op.method.lower()]
        assert documented["x-scope"] == op.scope and documented["summary"] == op.summary
        assert "application/problem+json" in str(doc["components"]["responses"]["422"])
    body = doc["components"]["schemas"]["NewDemand"]
    assert body["additionalProperties"] is False and body["required"] == ["customer"]
