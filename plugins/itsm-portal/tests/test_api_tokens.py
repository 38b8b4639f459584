"""API tokens of the store on /api/v1: scopes (403 naming the one needed), the token's name as the actor,
revocation and the rate limit across processes (two apps on one database), last-used times, and the older tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import API_TOKEN, TOKENS_ENV, make_eagle5
from itsmcore import Desk
from starlette.testclient import TestClient

OLDER = {"Authorization": f"Bearer {API_TOKEN}"}
EXPENSATRON = {
    "kind": "value",
    "customer": "steve",
    "service": "expensatron",
    "answers": {"mobile_number": "+447700900123", "mobile_os": "iOS"},
}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def token(desk: Desk, name: str, *scopes: str) -> dict[str, str]:
    return bearer(desk.new_api_token(name, scopes)[1])


def test_each_operation_needs_its_scope(client: TestClient, desk: Desk) -> None:
    read = token(desk, "dashboard", "read")
    write = token(desk, "chatbot", "write")
    agent = token(desk, "helpdesk-bot", "agent")
    assert client.get("/api/v1/demands", headers=read).status_code == 200
    assert client.get("/api/v1/catalog?q=expenses", headers=read).status_code == 200

    refused = client.post("/api/v1/demands", headers=read, json=EXPENSATRON)
    assert refused.status_code == 403 and refused.json()["scope"] == "write"
    assert "'write' scope" in refused.json()["detail"] and "dashboard" in refused.json()["detail"]
    assert not desk.list_demands(), "nothing was written"
    assert client.get("/api/v1/demands", headers=write).json()["scope"] == "read"

    made = client.post("/api/v1/demands", headers=write, json=EXPENSATRON)
    assert made.status_code == 201, made.text
    did = made.json()["demand"]["id"]
    for path, body in (
        (f"/api/v1/demands/{did}/advance", {"stage": "share"}),
        (f"/api/v1/demands/{did}/comments", {"text": "We are on it"}),
        ("/api/v1/announcements", {"service": "crm", "title": "CRM is slow"}),
    ):
        r = client.post(path, headers=write, json=body)
        assert r.status_code == 403 and r.json()["scope"] == "agent", (path, r.text)
    r = client.post(f"/api/v1/demands/{did}/comments", headers=agent, json={"text": "x", "actor": "customer"})
    assert r.status_code == 403 and r.json()["scope"] == "write"
    assert client.post(f"/api/v1/demands/{did}/advance", headers=agent, json={"stage": "share"}).status_code == 201
    hidden = client.get("/api/v1/services/expensatron/reviews?hidden=1", headers=read)
    assert hidden.status_code == 403 and hidden.json()["scope"] == "agent"
    assert client.get("/api/v1/services/expensatron/reviews", headers=read).status_code == 200

    assert client.get("/api/v1/tokens", headers=agent).json()["scope"] == "admin"
    admin = token(desk, "ops", "admin")
    assert client.get("/api/v1/demands", headers=admin).status_code == 200, "admin may do everything"
    assert client.post(f"/api/v1/demands/{did}/advance", headers=admin, json={"stage": "share"}).status_code == 201


def test_the_tokens_name_is_the_actor_on_the_journey(client: TestClient, desk: Desk) -> None:
    both = token(desk, "chat-bridge", "write", "agent")
    did = client.post("/api/v1/demands", headers=both, json=EXPENSATRON).json()["demand"]["id"]
    notes = lambda: len([j for j in desk.jobs(demand_id=did) if j.action == "notify"])  # noqa: E731
    before = notes()
    client.post(f"/api/v1/demands/{did}/comments", headers=both, json={"text": "thanks!", "actor": "customer"})
    assert notes() == before, "the customer's own words are not sent back to them"
    client.post(f"/api/v1/demands/{did}/comments", headers=both, json={"text": "On its way", "actor": "agent"})
    assert notes() == before + 1, "the integration's comment is a reply the customer is sent"
    r = client.post(f"/api/v1/demands/{did}/advance", headers=both, json={"stage": "share", "actor": "system"})
    assert r.status_code == 201 and r.json()["actor"] == "chat-bridge"
    events = desk.journey(did)
    assert events[0].actor == "customer", "the customer's own demand, relayed"
    said = {e.customer_sees: e.actor for e in events if e.kind == "comment"}
    assert said == {"thanks!": "customer", "On its way": "chat-bridge"}
    assert events[-1].actor == "chat-bridge" and events[-1].stage == "share"
    incident = desk.submit("failure", "tony", "VPN drops", channel="phone").demand.id
    moved = client.post(f"/api/v1/demands/{incident}/advance", headers=both, json={"state": "in_progress"})
    assert moved.status_code == 201, moved.text
    assert desk.journey(incident)[-1].actor == "chat-bridge"
    assert "by chat-bridge" in desk.journey(incident)[-1].behind_scenes


def test_tokens_are_managed_with_the_admin_scope(client: TestClient, desk: Desk) -> None:
    admin = token(desk, "ops", "admin")
    made = client.post("/api/v1/tokens", headers=admin, json={"name": "monitoring", "scopes": ["read"]})
    assert made.status_code == 201 and made.json()["token"].startswith("itsm_")
    secret = made.json()["token"]
    listed = client.get("/api/v1/tokens", headers=admin)
    assert listed.status_code == 200 and secret not in listed.text
    assert {x["name"] for x in listed.json()["tokens"]} == {"ops", "monitoring"}
    again = client.post("/api/v1/tokens", headers=admin, json={"name": "monitoring", "scopes": ["read"]})
    assert again.status_code == 409
    bad = client.post("/api/v1/tokens", headers=admin, json={"name": "x", "scopes": ["raed"]})
    assert bad.status_code == 422 and "did you mean 'read'" in bad.json()["detail"]
    missing = client.post("/api/v1/tokens/monitorin/revoke", headers=admin, json={})
    assert missing.status_code == 404 and "did you mean 'monitoring'" in missing.json()["detail"]
    assert client.get("/api/v1/demands", headers=bearer(secret)).status_code == 200
    assert client.post("/api/v1/tokens/monitoring/revoke", headers=admin, json={}).status_code == 200
    assert client.get("/api/v1/demands", headers=bearer(secret)).status_code == 401


def test_the_older_tokens_keep_working_without_admin(client: TestClient) -> None:
    assert client.get("/api/v1/demands", headers=OLDER).status_code == 200
    r = client.get("/api/v1/tokens", headers=OLDER)
    assert r.status_code == 403 and r.json()["scope"] == "admin"


@pytest.fixture(params=["sqlite", "postgresql"])
def two_apps(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Two portals, each with its own desk, on one database: two processes as far as the store can tell."""
    from itsm_portal.app import create_app

    monkeypatch.setenv(TOKENS_ENV, f"monitoring:{API_TOKEN}")
    monkeypatch.delenv("ITSM_SECRET", raising=False)
    config = make_eagle5(tmp_path / "eagle5", extra="api_rate_limit = 4\napi_rate_window_seconds = 3600\n")
    if request.param == "postgresql":
        url = request.getfixturevalue("itsm_postgres_url")
        config.write_text(config.read_text().replace('database = "sqlite:///eagle5.db"', f'database = "{url}"'))
    desks = [Desk.open(config), Desk.open(config)]
    clients = [TestClient(create_app(desk=d)) for d in desks]
    for c in clients:
        c.__enter__()
    yield desks, clients
    for c in clients:
        c.__exit__(None, None, None)
    for d in desks:
        d.close()


def test_revoked_and_rate_limited_on_every_process(two_apps: Any) -> None:
    (one, two), (a, b) = two_apps
    auth = token(one, "monitoring-v2", "read")
    other = token(two, "dashboard", "read")
    answers = [c.get("/api/v1/demands", headers=auth).status_code for c in (a, b, a, b)]
    assert answers == [200, 200, 200, 200]
    limited = b.get("/api/v1/demands", headers=auth)
    assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 3600
    assert "monitoring-v2" in limited.json()["detail"]
    assert a.get("/api/v1/demands", headers=auth).status_code == 429, "the count is shared"
    assert a.get("/api/v1/demands", headers=other).status_code == 200, "per token"
    assert a.get("/api/v1/demands", headers=OLDER).status_code == 200, "the older tokens are not counted"

    assert b.get("/api/v1/demands", headers=other).status_code == 200
    one.revoke_api_token("dashboard")
    for c in (a, b):
        r = c.get("/api/v1/demands", headers=other)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")


def test_last_used_is_kept(client: TestClient, desk: Desk) -> None:
    auth = token(desk, "dashboard", "read")
    assert desk.api_tokens()[0].last_used_at is None
    assert client.get("/api/v1/demands", headers=auth).status_code == 200
    used = desk.api_tokens()[0].last_used_at
    assert used is not None


def test_the_schema_says_each_operations_scope(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["paths"]["/demands"]["get"]["x-scope"] == "read"
    assert schema["paths"]["/demands"]["post"]["x-scope"] == "write"
    assert schema["paths"]["/demands/{did}/advance"]["post"]["x-scope"] == "agent"
    assert schema["paths"]["/tokens"]["post"]["x-scope"] == "admin"
    assert "customer" in schema["paths"]["/demands/{did}/comments"]["post"]["description"]
    for ops in schema["paths"].values():
        for op in ops.values():
            assert {"401", "403", "429"} <= set(op["responses"])


def test_portal_token_points_to_api_token_new() -> None:
    from itsm_portal.commands import portal_token

    r = CliRunner().invoke(portal_token, ["monitoring"])
    assert r.exit_code == 0 and "itsm api-token new" in r.stderr and "sha256:" in r.stdout
