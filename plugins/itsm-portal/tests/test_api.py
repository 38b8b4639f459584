"""The JSON API under /api/v1: token auth, operations, the OpenAPI schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import API_TOKEN
from itsmcore import Desk
from starlette.testclient import TestClient

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def test_api_needs_a_valid_token(client: TestClient) -> None:
    assert client.get("/api/v1/demands").status_code == 401
    r = client.get("/api/v1/demands", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/api/v1/demands", headers={"Authorization": f"Basic {API_TOKEN}"}).status_code == 401
    assert client.get("/api/v1/demands", headers=AUTH).status_code == 200


def test_a_session_cookie_is_no_api_token(client: TestClient, sign_in) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("patrick")
    assert c.get("/api/v1/demands").status_code == 401


def test_openapi_schema_lists_the_paths(client: TestClient) -> None:
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["openapi"].startswith("3.")
    for path in (
        "/demands",
        "/demands/{did}",
        "/demands/{did}/comments",
        "/demands/{did}/advance",
        "/announcements",
        "/confirm",
        "/survey",
        "/catalog",
    ):
        assert path in schema["paths"], path
    # every $ref resolves
    text = r.text
    for ref in set(re.findall(r'"\$ref": ?"#/components/(\w+)/(\w+)"', text)):
        assert ref[1] in schema["components"][ref[0]], ref


def test_openapi_matches_the_routes(app) -> None:  # type: ignore[no-untyped-def]
    from starlette.routing import Mount

    from itsm_portal.api import OPENAPI

    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/api/v1")
    served = {(r.path, m.lower()) for r in mount.routes for m in (r.methods or ()) if m != "HEAD"}
    documented = {(p, m) for p, ops in OPENAPI["paths"].items() for m in ops}
    assert served - {("/openapi.json", "get")} == documented


def test_submit_read_comment_advance(client: TestClient, desk: Desk) -> None:
    r = client.post(
        "/api/v1/demands",
        headers=AUTH,
        json={
            "kind": "value",
            "customer": "steve",
            "service": "expensatron",
            "answers": {"mobile_number": "+447700900123", "mobile_os": "iOS"},
            "channel": "chat",
            "external_ref": "chat-42",
        },
    )
    assert r.status_code == 201, r.text
    did = r.json()["demand"]["id"]
    assert "Expensatron" in r.json()["acknowledgement"]
    again = client.post("/api/v1/demands", headers=AUTH, json={"customer": "steve", "external_ref": "chat-42"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    one = client.get(f"/api/v1/demands/{did}", headers=AUTH).json()
    assert one["customer"] == "steve" and one["journey"][0]["stage"] in ("engage", "discover")
    r = client.post(f"/api/v1/demands/{did}/comments", headers=AUTH, json={"text": "Hello from chat"})
    assert r.status_code == 201
    r = client.post(
        f"/api/v1/demands/{did}/advance", headers=AUTH, json={"stage": "share", "customer_sees": "Thanks for sharing"}
    )
    assert r.status_code == 201 and desk.get(did).stage == "share"
    listed = client.get("/api/v1/demands?customer=steve&kind=value", headers=AUTH).json()["demands"]
    assert [d["id"] for d in listed] == [did]


def test_api_errors_are_json_with_fields(client: TestClient) -> None:
    r = client.post(
        "/api/v1/demands",
        headers=AUTH,
        json={"kind": "value", "customer": "steve", "service": "expensatron", "answers": {"mobile_os": "Symbian"}},
    )
    assert r.status_code == 422 and "mobile_os" in r.json()["errors"]
    r = client.post(
        "/api/v1/demands", headers=AUTH, json={"kind": "value", "customer": "susan", "service": "expensatron"}
    )
    assert r.status_code == 403 and "Sales" in r.json()["detail"]
    assert client.get("/api/v1/demands/99999", headers=AUTH).status_code == 404
    as_json = AUTH | {"Content-Type": "application/json"}
    assert client.post("/api/v1/demands", headers=as_json, content=b"not json").status_code == 400
    assert client.post("/api/v1/demands", headers=AUTH, json={"customer": "nobody", "summary": "x"}).status_code == 404
    r = client.post("/api/v1/demands/1/advance", headers=AUTH, json={"stage": "nowhere"})
    assert r.status_code in (404, 422)
    assert client.get("/api/v1/demands?kind=bogus", headers=AUTH).status_code == 422


def test_illegal_transition_is_409(client: TestClient, desk: Desk) -> None:
    did = desk.submit("failure", "tony", "x", channel="phone").demand.id
    r = client.post(f"/api/v1/demands/{did}/advance", headers=AUTH, json={"state": "fulfilled"})
    assert r.status_code == 409 and "Allowed next" in r.json()["detail"]


def test_announce_confirm_survey_via_api(client: TestClient, desk: Desk) -> None:
    r = client.post(
        "/api/v1/announcements",
        headers=AUTH,
        json={
            "service": "crm",
            "title": "CRM down",
            "workaround": "Use the app",
            "links": [{"url": "https://x.example"}],
        },
    )
    assert r.status_code == 201
    aid = r.json()["id"]
    assert desk.announcement(aid).source == "monitoring"  # the token's name
    desk.affects_me(aid, "steve")
    assert client.get("/api/v1/announcements?open=1", headers=AUTH).json()["announcements"][0]["id"] == aid
    r = client.post(f"/api/v1/announcements/{aid}/resolve", headers=AUTH, json={"resolution": "Fixed."})
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    body = next(m["body"] for m in desk.messages(customer="steve") if "/confirm/" in m["body"])
    token = re.search(r"/confirm/([^?\s]+)", body).group(1)  # type: ignore[union-attr]
    assert client.post("/api/v1/confirm", headers=AUTH, json={"token": token, "fixed": "yes"}).status_code == 422
    r = client.post("/api/v1/confirm", headers=AUTH, json={"token": token, "fixed": True})
    assert r.status_code == 200
    did = r.json()["demand_id"]
    assert desk.get(did).state == "closed"
    survey = next(m["body"] for m in desk.messages(customer="steve", demand_id=did) if m["purpose"] == "survey")
    stoken = re.search(r"/survey/(\S+)", survey).group(1)  # type: ignore[union-attr]
    assert client.post("/api/v1/survey", headers=AUTH, json={"token": stoken, "score": 11}).status_code == 422
    r = client.post("/api/v1/survey", headers=AUTH, json={"token": stoken, "score": 9})
    assert r.status_code == 201 and r.json()["score"] == 9
    assert client.post("/api/v1/confirm", headers=AUTH, json={"token": "bad.token", "fixed": True}).status_code == 400


def test_catalog_search_via_api(client: TestClient) -> None:
    r = client.get("/api/v1/catalog?q=expenses&customer=susan", headers=AUTH).json()
    hit = next(x for x in r["results"] if x["key"] == "expensatron")
    assert hit["eligible"] is False and hit["next_step"]


def test_tokens_file_holds_only_hashes(tmp_path: Path) -> None:
    from itsm_portal.security import ApiTokens, hash_token

    f = tmp_path / "tokens"
    f.write_text(f"# integrations\nmonitoring:sha256:{hash_token('secret-1')}\n")
    tokens = ApiTokens.load(None, f)
    assert tokens.check("secret-1") == "monitoring" and tokens.check("secret-2") is None
    f.write_text("monitoring:secret-1\n")
    with pytest.raises(ValueError, match="sha256"):
        ApiTokens.load(None, f)


def test_portal_token_command(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from itsmcore.cli import cli

    result = CliRunner().invoke(cli, ["portal-token", "monitoring"], standalone_mode=False)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    token = re.search(r"token \(.*\): (\S+)", result.output).group(1)  # type: ignore[union-attr]
    line = re.search(r"line for api_tokens_file: (\S+)", result.output).group(1)  # type: ignore[union-attr]
    from itsm_portal.security import ApiTokens

    f = tmp_path / "t"
    f.write_text(line + "\n")
    assert ApiTokens.load(None, f).check(token) == "monitoring"
