"""Findings of a security walk-through of the portal, each held to its fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import API_TOKEN
from starlette.testclient import TestClient

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def test_a_session_cookie_copied_before_sign_out_stops_working_at_sign_out(
    client: TestClient, second_client: TestClient, sign_in: Callable[..., TestClient]
) -> None:
    sign_in()
    assert client.get("/demands").status_code == 200
    stolen = client.cookies.get("itsm_session")
    assert stolen
    second_client.cookies.set("itsm_session", stolen)
    assert second_client.get("/demands").status_code == 200  # the copy works while the session lives

    page = client.get("/demands")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert client.post("/signout", data={"csrf": csrf}).status_code == 303

    r = second_client.get("/demands")
    assert r.status_code in (302, 303) and "/signin" in r.headers["location"], r.status_code


def test_an_agent_can_end_every_session_of_a_customer(
    client: TestClient, sign_in: Callable[..., TestClient], desk: Any
) -> None:
    sign_in()
    assert client.get("/demands").status_code == 200
    assert desk.end_sessions("steve") == 1
    r = client.get("/demands")
    assert r.status_code in (302, 303) and "/signin" in r.headers["location"]
    assert desk.end_sessions("steve") == 0


@pytest.mark.parametrize(
    "path",
    [
        "/demands/99999999999999999999999",
        "/demands/-1",
        "/api/v1/demands/99999999999999999999999",
        "/api/v1/demands/9e22",
        "/api/v1/tasks/99999999999999999999999/milestones",
    ],
)
def test_ids_out_of_range_are_not_found(client: TestClient, sign_in: Callable[..., TestClient], path: str) -> None:
    sign_in()
    r = client.get(path, headers=AUTH if path.startswith("/api/") else {})
    assert r.status_code in (404, 405), (r.status_code, r.text[:300])
    # and the connection is still good for the next request
    assert client.get("/demands").status_code == 200


def test_json_nested_too_deep_is_a_400(client: TestClient) -> None:
    body = "[" * 5000 + "]" * 5000
    r = client.post("/api/v1/demands", content=body, headers=AUTH | {"Content-Type": "application/json"})
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert "nested" in r.text


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
def test_json_routes_refuse_other_bodies(client: TestClient, content_type: str | None) -> None:
    headers = dict(AUTH)
    if content_type:
        headers["Content-Type"] = content_type
    body = '{"kind": "failure", "customer": "steve", "summary": "VPN drops"}'
    r = client.post("/api/v1/demands", content=body, headers=headers)
    assert r.status_code == 415, (r.status_code, r.text[:300])
    assert "application/json" in r.text


def test_strict_transport_security_behind_https(client: TestClient) -> None:
    plain = client.get("/signin")
    assert "strict-transport-security" not in plain.headers
    secure = client.get("/signin", headers={"X-Forwarded-Proto": "https"})
    # only believed when the portal trusts its proxy's headers; served over https directly, always
    https = TestClient(client.app, base_url="https://testserver")
    assert "max-age=" in https.get("/signin").headers.get("strict-transport-security", "")
    assert secure.status_code == 200
