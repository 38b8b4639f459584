"""Refused calls: the API answers by the error's kind, pages show field errors or a notice.

Errors say their kind by class (invalid input 422, conflict 409, not found 404, forbidden
403); the portal maps them in one place. A conflict (approving twice, resolving a resolved
announcement, answering a survey twice) is a notice on the page as it is now, never a
field error and never a 500.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from conftest import API_TOKEN, csrf_of
from itsmcore import Desk, InvalidAnswers
from starlette.testclient import TestClient

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
NOTICE = re.compile(r'<p class="flash" role="status">(.*?)</p>', re.S)


def notice_of(page: str) -> str:
    found = NOTICE.search(page)
    assert found, "the page shows no notice"
    return html.unescape(found.group(1))


def survey_token(desk: Desk) -> str:
    """Steve's signed survey link, after he confirms an announcement's fix."""
    ann = desk.open_announcement("crm", "CRM down")
    desk.affects_me(ann.id, "steve")
    desk.resolve_announcement(ann.id, "Fixed.")
    body = next(m["body"] for m in desk.messages(customer="steve") if "/confirm/" in m["body"])
    did = desk.confirm(re.search(r"/confirm/([^?\s]+)", body).group(1), True)  # type: ignore[union-attr]
    survey = next(m["body"] for m in desk.messages(customer="steve", demand_id=did) if m["purpose"] == "survey")
    return re.search(r"/survey/(\S+)", survey).group(1)  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- the API


def test_an_illegal_transition_answers_409_with_state_and_allowed(client: TestClient, desk: Desk) -> None:
    demand = desk.submit("failure", "tony", "VPN drops", channel="phone").demand
    r = client.post(f"/api/v1/demands/{demand.id}/advance", headers=AUTH, json={"state": "closed"})
    assert r.status_code == 409
    body = r.json()
    assert body["state"] == str(demand.state) == "new"
    assert body["allowed"] == sorted(str(s) for s in demand.allowed_next()) and body["allowed"]
    assert "cannot become closed" in body["detail"] and "errors" not in body


def test_resolving_a_resolved_announcement_answers_409(client: TestClient, desk: Desk) -> None:
    ann = desk.open_announcement("crm", "CRM down")
    desk.resolve_announcement(ann.id, "Fixed.")
    r = client.post(f"/api/v1/announcements/{ann.id}/resolve", headers=AUTH, json={"resolution": "Again."})
    assert r.status_code == 409
    assert r.json()["state"] == "resolved" and r.json()["allowed"] == []
    assert "already resolved" in r.json()["detail"]


def test_answering_a_survey_twice_answers_409(client: TestClient, desk: Desk) -> None:
    token = survey_token(desk)
    assert client.post("/api/v1/survey", headers=AUTH, json={"token": token, "score": 9}).status_code == 201
    r = client.post("/api/v1/survey", headers=AUTH, json={"token": token, "score": 3})
    assert r.status_code == 409 and r.json()["state"] == "answered" and "already answered" in r.json()["detail"]


def test_an_unknown_demand_answers_404(client: TestClient) -> None:
    for r in (
        client.get("/api/v1/demands/99999", headers=AUTH),
        client.get("/api/v1/demands/not-a-number", headers=AUTH),
        client.post("/api/v1/demands/99999/advance", headers=AUTH, json={"state": "closed"}),
        client.post("/api/v1/demands/99999/comments", headers=AUTH, json={"text": "hello"}),
        client.post("/api/v1/announcements/99999/resolve", headers=AUTH, json={"resolution": "Fixed."}),
    ):
        assert r.status_code == 404, r.request.url
        assert r.json()["detail"] and "state" not in r.json()


def test_a_bad_body_answers_422_naming_the_field(client: TestClient, desk: Desk) -> None:
    did = desk.submit("failure", "tony", "VPN drops", channel="phone").demand.id
    for path, body, field in (
        (f"/api/v1/demands/{did}/advance", {"state": 5}, "state"),
        (f"/api/v1/demands/{did}/advance", {"state": "sideways"}, "state"),
        (f"/api/v1/demands/{did}/advance", {"stage": "nowhere"}, "stage"),
        (f"/api/v1/demands/{did}/comments", {"text": ""}, "text"),
        ("/api/v1/demands", {"customer": "steve", "answers": ["not", "an", "object"]}, "answers"),
        ("/api/v1/demands", {"customer": "steve", "kind": "wish"}, "kind"),
        ("/api/v1/survey", {"token": "x", "score": "nine"}, "score"),
    ):
        r = client.post(path, headers=AUTH, json=body)
        assert r.status_code == 422, (path, body, r.text)
        assert field in r.json()["errors"] and r.json()["detail"], (path, body)
    as_json = AUTH | {"Content-Type": "application/json"}
    r = client.post(f"/api/v1/demands/{did}/advance", headers=as_json, content=b"{not json")
    assert r.status_code == 400 and r.json()["detail"] == "the body must be JSON"
    assert r.headers["content-type"] == "application/problem+json"
    assert desk.get(did).state == "new"  # nothing was changed


def test_a_bad_filter_answers_422(client: TestClient) -> None:
    r = client.get("/api/v1/demands?state=sideways", headers=AUTH)
    assert r.status_code == 422 and "state" in r.json()["errors"]


def test_the_schema_documents_conflicts(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert "409" in schema["paths"]["/demands/{did}/advance"]["post"]["responses"]
    problem = schema["components"]["responses"]["409"]["content"]["application/problem+json"]["schema"]
    props = schema["components"]["schemas"][problem["$ref"].rsplit("/", 1)[-1]]["properties"]
    assert {"type", "title", "status", "detail", "errors", "state", "allowed"} <= set(props)


# ---------------------------------------------------------------------------- pages


def test_approving_twice_is_a_notice_not_an_error(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    did = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "x"}).demand.id
    c = sign_in("patrick")
    token = csrf_of(c, f"/desk/demands/{did}")
    assert c.post(f"/desk/demands/{did}/approve", data={"csrf": token, "text": "ok"}).status_code == 303
    state = desk.get(did).state
    again = c.post(f"/desk/demands/{did}/approve", data={"csrf": token, "text": "ok"})
    assert again.status_code == 409
    assert "not awaiting approval" in notice_of(again.text)
    assert "error-summary" not in again.text  # not a field error
    assert f"#{did}" in again.text and desk.get(did).state == state  # the demand as it is now, unchanged


def test_an_illegal_transition_on_the_desk_page_is_a_notice(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    did = desk.submit("failure", "tony", "VPN drops", channel="phone").demand.id
    c = sign_in("patrick")
    token = csrf_of(c, f"/desk/demands/{did}")
    r = c.post(f"/desk/demands/{did}/transition", data={"csrf": token, "state": "closed"})
    assert r.status_code == 409 and "cannot become closed" in notice_of(r.text)
    assert "error-summary" not in r.text
    r = c.post(f"/desk/demands/{did}/transition", data={"csrf": token, "state": "sideways"})
    assert r.status_code == 422 and "error-summary" in r.text and "Choose the state" in r.text
    assert desk.get(did).state == "new"


def test_resolving_a_resolved_announcement_is_a_notice(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    ann = desk.open_announcement("crm", "CRM down")
    desk.resolve_announcement(ann.id, "Fixed.")
    c = sign_in("patrick")
    token = csrf_of(c, f"/desk/announcements/{ann.id}")
    r = c.post(f"/desk/announcements/{ann.id}/resolve", data={"csrf": token, "resolution": "Fixed again."})
    assert r.status_code == 409 and "already resolved" in notice_of(r.text)
    assert "error-summary" not in r.text and "CRM down" in r.text
    r = c.post(f"/desk/announcements/{ann.id}/update", data={"csrf": token, "estimate": "by noon"})
    assert r.status_code == 409 and "already resolved" in notice_of(r.text)


def test_answering_a_survey_twice_is_a_notice(client: TestClient, desk: Desk) -> None:
    token = survey_token(desk)
    path = f"/survey/{token}"
    r = client.post(path, data={"csrf": csrf_of(client, path), "score": "9"})
    assert r.status_code == 200 and "Thanks for telling us" in r.text
    # the used link has no form to fill in: the session's CSRF token comes from another page
    again = client.post(path, data={"csrf": csrf_of(client), "score": "2"})
    assert again.status_code == 409 and "already answered" in notice_of(again.text)
    assert 'role="alert"' not in again.text  # a notice, not an error
    r = client.post(path, data={"csrf": csrf_of(client), "score": "11"})
    assert r.status_code in (409, 422)  # checked, or answered already: never a 500


def test_saying_a_fixed_problem_affects_me_is_a_notice(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    ann = desk.open_announcement("crm", "CRM down")
    c = sign_in("steve")
    token = csrf_of(c, "/")
    desk.resolve_announcement(ann.id, "Fixed.")
    r = c.post(f"/announcements/{ann.id}/affects-me", data={"csrf": token})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "already been fixed" in notice_of(c.get("/").text)


def test_an_unknown_page_error_is_a_page_with_its_status(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in("patrick")
    token = csrf_of(c, "/desk")
    r = c.post("/desk/announcements/99999/resolve", data={"csrf": token, "resolution": "Fixed."})
    assert r.status_code == 404


def test_a_desk_that_still_says_invalid_input_gets_field_errors(
    sign_in: Callable[..., TestClient], desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the desk said Conflict it said InvalidAnswers: that is still shown on the form, as 422."""
    did = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "x"}).demand.id

    def approve(demand_id: int, approver: str, note: str = "", **_: object) -> None:
        raise InvalidAnswers({"approval": f"demand {demand_id} is fulfilled, not awaiting approval"})

    monkeypatch.setattr(desk, "approve", approve)
    c = sign_in("patrick")
    token = csrf_of(c, f"/desk/demands/{did}")
    r = c.post(f"/desk/demands/{did}/approve", data={"csrf": token, "text": "ok"})
    assert r.status_code == 422 and "error-summary" in r.text and "not awaiting approval" in r.text
    assert not NOTICE.search(r.text)
