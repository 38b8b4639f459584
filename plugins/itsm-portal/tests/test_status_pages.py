"""The portal tells customers where a demand stands with the one status model: no contradiction, no internal words."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from conftest import API_TOKEN, csrf_of
from itsmcore import DemandState, Stage

if TYPE_CHECKING:
    from itsmcore import Desk
    from starlette.testclient import TestClient

INTERNAL = [str(v) for v in (*Stage, *DemandState) if "_" in str(v)] + ["engage", "fulfil", "acknowledge"]


def _visible(html: str) -> str:
    """The page's text as a reader sees it: no tags, no attributes, no scripts."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _ask_for_a_smartphone(c: TestClient) -> str:
    token = csrf_of(c, "/")
    r = c.post("/services/smartphone", data={"csrf": token, "reason": "Visiting customers"})
    assert r.status_code == 303, r.text[:500]
    return r.headers["location"]


def test_the_thank_you_page_for_a_smartphone_says_it_waits_for_scott(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    c = sign_in()
    location = _ask_for_a_smartphone(c)
    did = int(location.split("/")[2])
    assert desk.get(did).state == DemandState.AWAITING_APPROVAL
    text = _visible(c.get(location).text)
    assert "Thanks, we have your request for A company smartphone" in text
    assert "Waiting for Scott (your manager) to approve" in text
    assert "setting it up" not in text
    assert not re.search(r"\bDone\b", text)


def test_the_demand_page_shows_no_internal_names(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in()
    location = _ask_for_a_smartphone(c)
    page = c.get(location.removesuffix("/submitted"))
    assert page.status_code == 200
    text = _visible(page.text)
    assert "Waiting for Scott (your manager) to approve" in text
    assert "You asked" in text and "We confirmed" in text
    for word in [*INTERNAL, "log"]:
        assert not re.search(rf"\b{word}\b", text), word
    assert "something went wrong" not in text.lower()


def test_the_list_and_home_page_use_the_same_sentence(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in()
    _ask_for_a_smartphone(c)
    for path in ("/demands", "/"):
        text = _visible(c.get(path).text)
        assert "Waiting for Scott (your manager) to approve" in text, path
        assert "setting it up" not in text, path


def test_the_api_gives_the_customer_status_beside_the_state(client: TestClient, desk: Desk) -> None:
    receipt = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "travel"}, channel="api")
    r = client.get(f"/api/v1/demands/{receipt.demand.id}", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "awaiting_approval"
    assert body["status"]["label"] == "Waiting for approval"
    assert body["status"]["sentence"].startswith("Waiting for Scott (your manager) to approve")
    assert body["status"]["expected"] == "It usually takes 3 working days after approval."
    assert receipt.acknowledgement.endswith(f"{body['status']['sentence']} {body['status']['expected']}")
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert schema["Demand"]["properties"]["status"] == {"$ref": "#/components/schemas/CustomerStatus"}
    assert set(schema["CustomerStatus"]["required"]) >= {"sentence", "label", "expected"}


def test_the_timeline_shows_each_thing_once(sign_in, desk) -> None:  # type: ignore[no-untyped-def]
    """A message left in the portal inbox is listed under the demand's messages, not again in its timeline."""
    did = desk.submit("failure", "steve", "VPN drops every hour", channel="portal").demand.id
    desk.comment(did, "Can you send the VPN log?", actor="agent", channel="portal")
    desk.run_due_jobs()
    left = [e for e in desk.journey(did) if e.kind == "notification" and e.channel in ("log", "portal")]
    assert left, "a message was left in the portal inbox: the event the timeline must not repeat"
    page = sign_in().get(f"/demands/{did}").text
    timeline = page.split("Messages about this")[0]
    assert timeline.count("Can you send the VPN log?") == 1, timeline
    assert "We left" not in timeline and left[0].customer_sees not in timeline


def test_the_timeline_and_the_messages_read_in_one_order(sign_in, desk) -> None:  # type: ignore[no-untyped-def]
    """Oldest first in both lists, so a customer reads one story from top to bottom."""
    did = desk.submit("failure", "steve", "VPN drops every hour", channel="portal").demand.id
    for n in (1, 2, 3):
        desk.notify("steve", f"Update {n}", f"Update number {n} on your VPN.", demand_id=did)
    desk.run_due_jobs()
    page = sign_in().get(f"/demands/{did}").text
    messages = page.split("Messages about this")[1]
    assert messages.index("Update number 1") < messages.index("Update number 2") < messages.index("Update number 3")


def test_a_done_request_is_not_listed_as_open(sign_in, desk) -> None:  # type: ignore[no-untyped-def]
    """Fulfilled, not yet confirmed: the customer is told it is done, so it is listed under Finished."""
    did = desk.submit("value", "steve", "", service="expensatron", answers={"mobile_os": "ios"}).demand.id
    assert desk.customer_status(desk.get(did)).finished
    page = sign_in().get("/demands").text
    open_part, finished_part = page.split("<h2>Finished</h2>")
    assert f'href="/demands/{did}"' in finished_part and f'href="/demands/{did}"' not in open_part
