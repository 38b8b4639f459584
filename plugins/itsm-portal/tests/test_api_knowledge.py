"""The knowledge base through the API: write, edit from a version (a racing edit is 409 with the diff), publish, search, retire."""

from __future__ import annotations

from itsmcore import Desk
from starlette.testclient import TestClient

PROBLEM = "application/problem+json"
BODY = "# Pipeline report\n\nOpen **Reports**, then *Pipeline*. <script>alert(1)</script>\n"


def bearer(desk: Desk, name: str, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {desk.new_api_token(name, scopes)[1]}"}


def test_an_article_from_draft_to_retired(client: TestClient, desk: Desk) -> None:
    writer = bearer(desk, "kb-sync", "read", "agent")
    new = {"key": "crm-pipeline", "title": "Find the pipeline report", "body": BODY, "services": ["crm"]}
    r = client.post("/api/v1/knowledge", headers=writer, json=new)
    assert r.status_code == 201, r.text
    article = r.json()
    assert (article["state"], article["version"], article["updated_by"]) == ("draft", 1, "kb-sync")
    assert "<script>" not in article["html"] and "<strong>Reports</strong>" in article["html"]
    assert client.post("/api/v1/knowledge", headers=writer, json=new).status_code == 409, "the key is taken"

    assert client.get("/api/v1/knowledge/search", headers=writer, params={"q": "pipline"}).json()["hits"] == []
    r = client.post("/api/v1/knowledge/crm-pipeline/publish", headers=writer, json={})
    assert r.status_code == 200 and r.json()["state"] == "published"
    hits = client.get("/api/v1/knowledge/search", headers=writer, params={"q": "pipline reprot"}).json()["hits"]
    assert [h["article"]["key"] for h in hits] == ["crm-pipeline"], "typos forgiven"

    mine = {"base_version": 2, "title": "Find the CRM pipeline report"}
    theirs = {"base_version": 2, "body": BODY + "\nAsk your manager for access.\n"}
    assert client.patch("/api/v1/knowledge/crm-pipeline", headers=writer, json=theirs).status_code == 200
    r = client.patch("/api/v1/knowledge/crm-pipeline", headers=writer, json=mine)
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert (problem["base"], problem["current"]) == (2, 3) and "Ask your manager" in problem["diff"]
    assert client.get("/api/v1/knowledge/crm-pipeline", headers=writer).json()["title"] == new["title"], "unchanged"

    history = client.get("/api/v1/knowledge/crm-pipeline/history", headers=writer).json()["versions"]
    assert [v["version"] for v in history] == [1, 2, 3]
    diff = client.get("/api/v1/knowledge/crm-pipeline/diff", headers=writer, params={"old": 1}).json()["diff"]
    assert "+Ask your manager for access." in diff

    r = client.post("/api/v1/knowledge/crm-pipeline/retire", headers=writer, json={"note": "replaced"})
    assert r.status_code == 200 and r.json()["article"]["state"] == "retired" and r.json()["open_demands"] == []
    assert client.get("/api/v1/knowledge", headers=writer, params={"state": "retierd"}).status_code == 422


def test_reading_needs_a_token_and_writing_the_agent_scope(client: TestClient, desk: Desk) -> None:
    assert client.get("/api/v1/knowledge").status_code == 401
    reader = bearer(desk, "intranet", "read")
    r = client.post("/api/v1/knowledge", headers=reader, json={"key": "x", "title": "X", "body": "x"})
    assert r.status_code == 403 and r.json()["scope"] == "agent"
    assert client.get("/api/v1/knowledge/no-such-article", headers=reader).status_code == 404
