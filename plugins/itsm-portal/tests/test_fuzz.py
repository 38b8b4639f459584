"""Property tests of the JSON API: any JSON body, near-valid payloads for each POST route, any path id
and query string are answered below 500, and a refusal (4xx) leaves the store as it was.

``tox -e fuzz`` runs 10,000 examples of each (HYPOTHESIS_PROFILE=fuzz); the normal run a few dozen.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import API_TOKEN, TOKENS_ENV, make_eagle5
from hypothesis import given
from hypothesis import strategies as st
from itsmcore import Desk
from sqlalchemy import text as sql
from starlette.testclient import TestClient

pytestmark = pytest.mark.fuzz

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}

#: Each POST route and the fields its operation reads.
POSTS: dict[str, list[str]] = {
    "/demands": ["kind", "customer", "summary", "service", "details", "answers", "channel", "actor", "external_ref"],
    "/demands/{id}/comments": ["text", "actor", "channel"],
    "/demands/{id}/advance": ["state", "stage", "actor", "customer_sees", "behind_scenes"],
    "/demands/{id}/review": ["customer", "rating", "text", "anonymous", "channel"],
    "/tasks/{id}/milestones": ["milestone", "actor"],
    "/announcements": ["service", "title", "description", "workaround", "links", "estimate", "source"],
    "/announcements/{id}/resolve": ["resolution"],
    "/confirm": ["token", "fixed"],
    "/survey": ["token", "score", "comment", "channel"],
    "/tokens": ["name", "scopes", "scope"],
    "/tokens/{id}/revoke": [],
}
GETS = [
    "/demands",
    "/demands/{id}",
    "/services/{id}/reviews",
    "/tasks",
    "/announcements",
    "/catalog",
    "/tokens",
    "/openapi.json",
]
QUERY_NAMES = ["customer", "kind", "state", "service", "open", "limit", "team", "demand", "q", "hidden"]
#: Values the desk knows, so near-valid payloads get past the first checks.
KNOWN = [
    "steve",
    "scott",
    "patrick",
    "susan",
    "expensatron",
    "crm",
    "smartphone",
    "value",
    "failure",
    "information",
    "engage",
    "acknowledge",
    "fulfil",
    "outcome",
    "share",
    "fulfilled",
    "closed",
    "in_progress",
    "ordered",
    "delivered",
    "iOS",
    "+447700900123",
    "chat",
    "api",
    "agent",
    "customer",
    "read",
    "write",
    "admin",
    "https://status.example/1",
    "",
    " ",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-2, max_value=10),
    st.floats(),
    st.text(max_size=40),
    st.sampled_from(KNOWN),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=15,
)


def ids() -> st.SearchStrategy[str]:
    """Path ids: the records that exist, other numbers, and what is no number at all."""
    return st.one_of(
        st.integers(1, 6).map(str),
        st.integers().map(str),
        st.integers(min_value=10**17, max_value=10**30).map(str),
        st.sampled_from(
            ["0", "-1", "1e3", "0x1", "\u0661", "\u00b2", "1.0", " 1", "01", "steve", "expensatron", "%00", ".."]
        ),
        st.text(min_size=1, max_size=20),
    )


@st.composite
def payloads(draw: st.DrawFn, fields: list[str]) -> Any:
    """A JSON value for a route: anything at all, or an object of its own fields with near-valid values."""
    if draw(st.integers(0, 3)) == 0:
        return draw(json_values)
    chosen = draw(st.lists(st.sampled_from(fields), unique=True)) if fields else []
    body = {name: draw(scalars | json_values | st.sampled_from(KNOWN)) for name in chosen}
    if draw(st.booleans()):
        body.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
    return body


def _path(template: str, pid: str) -> str:
    return "/api/v1" + template.replace("{id}", quote(pid, safe=""))


@st.composite
def posts(draw: st.DrawFn) -> tuple[str, bytes, dict[str, str]]:
    template = draw(st.sampled_from(sorted(POSTS)))
    path = _path(template, draw(ids()))
    how = draw(st.sampled_from(["json", "json", "json", "bytes", "text", "deep", "no-type"]))
    headers = AUTH | {"Content-Type": "application/json"}
    if how == "bytes":
        return path, draw(st.binary(max_size=200)), headers
    if how == "text":
        return path, draw(st.text(max_size=200)).encode("utf-8", "surrogatepass"), headers
    if how == "deep":
        depth = draw(st.integers(1, 5_000))
        return path, b'{"a":' * depth + b"1" + b"}" * depth, headers
    body = json.dumps(draw(payloads(POSTS[template])), ensure_ascii=draw(st.booleans())).encode(
        "utf-8", "surrogatepass"
    )
    if how == "no-type":
        headers = dict(AUTH)
    return path, body, headers


@st.composite
def gets(draw: st.DrawFn) -> str:
    path = _path(draw(st.sampled_from(GETS)), draw(ids()))
    query = draw(
        st.dictionaries(
            st.sampled_from(QUERY_NAMES) | st.text(max_size=5),
            st.text(max_size=20) | st.sampled_from(KNOWN),
            max_size=4,
        )
    )
    return path + ("?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items()) if query else "")


# --------------------------------------------------------------------------- the portal under test


@pytest.fixture
def fuzz_desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    """Eagle5 with the portal, no API rate limit (thousands of requests), and a few demands to act on."""
    monkeypatch.setenv(TOKENS_ENV, f"monitoring:{API_TOKEN}")
    monkeypatch.delenv("ITSM_SECRET", raising=False)
    config = make_eagle5(tmp_path / "eagle5", extra="api_rate_limit = 0\n")
    with Desk.open(config) as desk:
        desk.submit("failure", "tony", "The CRM is down", channel="phone")
        desk.submit("value", "steve", "A phone", service="smartphone", answers={"reason": "visits"}, channel="portal")
        desk.submit("information", "steve", "Where is my phone?", channel="portal")
        desk.open_announcement("crm", "CRM outage", description="Slow", source="monitoring")
        yield desk


@pytest.fixture
def fuzz_client(fuzz_desk: Desk) -> Iterator[TestClient]:
    from itsm_portal.app import create_app

    with TestClient(create_app(desk=fuzz_desk), follow_redirects=False, raise_server_exceptions=False) as c:
        yield c


TABLES = [
    "demands",
    "journey_events",
    "jobs",
    "tasks",
    "announcements",
    "announcement_customers",
    "reviews",
    "survey_responses",
]


def snapshot(desk: Desk) -> dict[str, Any]:
    """What a refused request must not change: how many rows each table has, and the latest changes."""
    with desk.engine.connect() as conn:
        counts = {name: conn.execute(sql(f"SELECT count(*) FROM {name}")).scalar() for name in TABLES}
        counts["demands changed"] = conn.execute(sql("SELECT max(updated_at) FROM demands")).scalar()
        counts["tasks changed"] = conn.execute(sql("SELECT max(updated_at) FROM tasks")).scalar()
    return counts


def answered(desk: Desk, status: int, before: dict[str, Any], what: str) -> None:
    assert status < 500, what
    if 400 <= status < 500:
        assert snapshot(desk) == before, f"a {status} changed the store: {what}"


# --------------------------------------------------------------------------- properties


@given(request=posts())
def test_post_bodies(fuzz_client: TestClient, fuzz_desk: Desk, request: tuple[str, bytes, dict[str, str]]) -> None:
    path, body, headers = request
    before = snapshot(fuzz_desk)
    r = fuzz_client.post(path, content=body, headers=headers)
    answered(fuzz_desk, r.status_code, before, f"POST {path} {body[:300]!r}: {r.status_code} {r.text[:300]}")
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json" and r.json()["detail"], r.text[:300]


@given(path=gets())
def test_get_paths_and_queries(fuzz_client: TestClient, fuzz_desk: Desk, path: str) -> None:
    before = snapshot(fuzz_desk)
    r = fuzz_client.get(path, headers=AUTH)
    answered(fuzz_desk, r.status_code, before, f"GET {path}: {r.status_code} {r.text[:300]}")


@given(value=json_values)
def test_any_json_value_to_submit(fuzz_client: TestClient, fuzz_desk: Desk, value: Any) -> None:
    """Every JSON value, including NaN and Infinity (Python's json writes and reads them)."""
    before = snapshot(fuzz_desk)
    body = json.dumps(value, allow_nan=True).encode()
    r = fuzz_client.post("/api/v1/demands", content=body, headers=AUTH | {"Content-Type": "application/json"})
    answered(fuzz_desk, r.status_code, before, f"{body[:300]!r}: {r.status_code} {r.text[:300]}")
    if isinstance(value, float) and math.isfinite(value):
        assert r.status_code == 400


def test_a_body_nested_past_the_recursion_limit(fuzz_client: TestClient) -> None:
    depth = 100_000
    r = fuzz_client.post(
        "/api/v1/demands", content=b"[" * depth + b"]" * depth, headers=AUTH | {"Content-Type": "application/json"}
    )
    assert r.status_code == 400
