"""The desk's pages about people: who did what on a demand, finding the customer by typing, priority and clocks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from conftest import API_TOKEN, csrf_of
from itsmcore import Identity

if TYPE_CHECKING:
    from itsmcore import Desk
    from starlette.testclient import TestClient

PATRICK = Identity("patrick", "Patrick Hale")


def test_record_a_contact_finds_the_customer_by_typing_without_javascript(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    c = sign_in("patrick")
    page = c.get("/desk/contact")
    assert page.status_code == 200 and 'name="customer"' not in page.text  # no list of everyone
    page = c.get("/desk/contact", params={"find": "STARK"})
    assert "Tony Stark" in page.text and 'value="tony" checked' in page.text  # one match: chosen
    page = c.get("/desk/contact", params={"find": "s"})
    assert "at least 2 letters or digits" in page.text and 'name="customer"' not in page.text
    page = c.get("/desk/contact", params={"find": "nobody-here"})
    assert "Nobody matches" in page.text
    token = csrf_of(c, "/desk/contact")
    r = c.post(
        "/desk/contact",
        data={
            "csrf": token,
            "find": "stark",
            "customer": "tony",
            "channel": "phone",
            "kind": "failure",
            "summary": "VPN drops",
        },
    )
    assert r.status_code == 303, r.text[:500]
    did = int(r.headers["location"].rsplit("/", 1)[1])
    (first, *_) = desk.journey(did)
    assert first.actor == "agent" and first.by == PATRICK
    page = c.get(f"/desk/demands/{did}")
    assert "Patrick Hale (patrick)" in page.text


def test_record_a_contact_without_choosing_a_customer_is_refused_keeping_the_form(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    c = sign_in("patrick")
    token = csrf_of(c, "/desk/contact")
    before = len(desk.list_demands())
    r = c.post(
        "/desk/contact",
        data={"csrf": token, "find": "ton", "channel": "phone", "kind": "failure", "summary": "Printer jam"},
    )
    assert r.status_code == 422
    assert "Find the customer and choose them from the list." in r.text
    assert 'value="Printer jam"' in r.text and "Tony Stark" in r.text  # nothing typed is lost
    r = c.post(
        "/desk/contact",
        data={"csrf": token, "customer": "nobody", "channel": "phone", "kind": "failure", "summary": "Printer jam"},
    )
    assert r.status_code == 422 and "choose them from the list" in r.text
    assert len(desk.list_demands()) == before


def test_customer_suggestions_as_json_for_agents_only(
    sign_in: Callable[..., TestClient], client: TestClient, second_client: TestClient
) -> None:
    assert client.get("/desk/customers.json", params={"q": "to"}).status_code in (302, 303, 401, 403)
    c = sign_in("patrick")
    r = c.get("/desk/customers.json", params={"q": "to"})
    assert r.status_code == 200
    assert "tony" in [x["id"] for x in r.json()["customers"]] and r.json()["more"] is False
    for bad in ("%", "_", "", "x", "y" * 201):
        r = c.get("/desk/customers.json", params={"q": bad})
        assert r.status_code == 422 and r.json()["error"], bad
    steve = sign_in("steve", on=second_client)
    assert steve.get("/desk/customers.json", params={"q": "to"}).status_code == 403


def test_an_agent_changes_the_priority_with_a_reason_on_the_journey(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    did = desk.submit("failure", "tony", "The CRM will not load", service="crm").demand.id
    c = sign_in("patrick")
    page = c.get(f"/desk/demands/{did}")
    assert "Change the priority" in page.text and 'id="clocks"' in page.text  # Eagle5 has service levels
    assert "First response" in page.text and "Running" in page.text
    token = csrf_of(c, f"/desk/demands/{did}")
    r = c.post(f"/desk/demands/{did}/priority", data={"csrf": token, "priority": "1", "text": ""})
    assert r.status_code == 422 and "Say why the priority changes" in r.text
    r = c.post(f"/desk/demands/{did}/priority", data={"csrf": token, "priority": "9", "text": "x"})
    assert r.status_code == 422 and "Choose the new priority" in r.text
    r = c.post(f"/desk/demands/{did}/priority", data={"csrf": token, "priority": "1", "text": "board meeting at 3"})
    assert r.status_code == 303
    assert int(desk.get(did).priority) == 1
    (changed,) = [e for e in desk.journey(did) if "board meeting at 3" in e.behind_scenes]
    assert changed.by == PATRICK
    page = c.get(f"/desk/demands/{did}")
    assert "1 (critical)" in page.text


def test_the_desk_names_both_people_of_an_approval_on_behalf(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    did = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "x"}).demand.id
    c = sign_in("patrick")
    token = csrf_of(c, f"/desk/demands/{did}")
    assert c.post(f"/desk/demands/{did}/approve", data={"csrf": token, "text": "ok"}).status_code == 303
    (approved,) = [e for e in desk.journey(did) if e.kind == "approved"]
    assert approved.by == PATRICK and approved.on_behalf_of == Identity("scott", "Scott Miller")
    assert "Patrick Hale (patrick) for Scott Miller (scott)" in c.get(f"/desk/demands/{did}").text


def test_the_api_token_is_who_acted_and_the_journey_json_says_so(client: TestClient, desk: Desk) -> None:
    did = desk.submit("failure", "tony", "VPN drops").demand.id
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    r = client.post(f"/api/v1/demands/{did}/comments", json={"text": "Looking into it."}, headers=auth)
    assert r.status_code == 201, r.text
    assert r.json()["by"] == {"login": "monitoring", "name": "API token"}
    journey = client.get(f"/api/v1/demands/{did}", headers=auth).json()["journey"]
    assert journey[0]["by"] is None  # the customer's own
    (theirs,) = [e for e in journey if e["actor"] == "monitoring"]
    assert theirs["by"]["login"] == "monitoring" and theirs["customer_sees"] == "Looking into it."
    assert all(e["by"] is None for e in journey if e["actor"] == "system")
