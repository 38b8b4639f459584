"""Signed links checked on arrival, the score in the timeline, and the desk's pages in people's words."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from conftest import csrf_of
from itsmcore import Desk
from starlette.testclient import TestClient


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def confirm_link(desk: Desk) -> tuple[int, str]:
    """Steve said the CRM outage affects him, and it was fixed: his confirm link's path (``?fixed=yes``)."""
    ann = desk.open_announcement("crm", "The CRM web app does not load")
    desk.affects_me(ann.id, "steve")
    desk.resolve_announcement(ann.id, "The load balancer was replaced.")
    body = next(m["body"] for m in desk.messages(customer="steve") if "/confirm/" in m["body"])
    return ann.id, re.search(r"http://testserver(/confirm/\S+\?fixed=yes)", body).group(1)  # type: ignore[union-attr]


def survey_link(desk: Desk, client: TestClient) -> str:
    """Steve confirms the fix through his link; the survey path he is offered."""
    _aid, link = confirm_link(desk)
    done = client.post(link.split("?")[0], data={"csrf": csrf_of(client, link), "fixed": "yes"})
    return re.search(r'href="(/survey/[^"]+)"', done.text).group(1)  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- signed links


def test_the_confirm_page_names_the_problem(client: TestClient, desk: Desk) -> None:
    _aid, link = confirm_link(desk)
    page = client.get(link)
    assert page.status_code == 200
    assert "The CRM web app does not load" in page.text and "The load balancer was replaced." in page.text


def test_a_used_confirm_link_says_so_at_once(client: TestClient, desk: Desk) -> None:
    aid, link = confirm_link(desk)
    assert client.post(link.split("?")[0], data={"csrf": csrf_of(client, link), "fixed": "yes"}).status_code == 200
    again = client.get(link)
    assert again.status_code == 409 and "already told us this works again" in text_of(again.text)
    assert 'name="fixed"' not in again.text  # nothing to press
    refused = client.post(link.split("?")[0], data={"csrf": csrf_of(client), "fixed": "no"})
    assert refused.status_code == 409 and desk.ledger(aid).confirmed_fixed == 1


def test_an_expired_or_tampered_confirm_link_says_so_at_once(client: TestClient, desk: Desk) -> None:
    _aid, link = confirm_link(desk)
    path, query = link.split("?")
    tampered = client.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB") + "?" + query)
    assert tampered.status_code == 400 and "not valid" in tampered.text and 'name="fixed"' not in tampered.text
    now = desk.clock()
    desk.clock = lambda: now + timedelta(days=60)
    expired = client.get(link)
    assert expired.status_code == 400 and "expired" in expired.text and 'name="fixed"' not in expired.text


def test_a_used_survey_link_says_already_answered(client: TestClient, desk: Desk) -> None:
    survey = survey_link(desk, client)
    assert client.get(survey).status_code == 200
    sent = client.post(survey, data={"csrf": csrf_of(client, survey), "score": "9"})
    assert sent.status_code == 200
    again = client.get(survey)
    assert again.status_code == 409 and "already answered" in again.text
    assert 'name="score"' not in again.text
    broken = client.get("/survey/abc.def")
    assert broken.status_code == 400 and "not valid" in broken.text and 'name="score"' not in broken.text


def test_the_score_is_in_the_customers_timeline(
    client: TestClient, desk: Desk, sign_in: Callable[..., TestClient], second_client: TestClient
) -> None:
    survey = survey_link(desk, client)
    client.post(survey, data={"csrf": csrf_of(client, survey), "score": "9"})
    did = next(d.id for d in desk.list_demands(customer="steve") if d.announcement_id is not None)
    page = text_of(sign_in(on=second_client).get(f"/demands/{did}").text)
    assert "You gave us 9 out of 10. Thank you for telling us how it went." in page
    assert re.search(r"UTC · Your feedback · you You gave us 9", page)  # the stage in customer words


# ---------------------------------------------------------------------------- the desk's pages


def test_the_journey_table_does_not_break_words() -> None:
    css = (Path(__file__).parents[1] / "src" / "itsm_portal" / "static" / "portal.css").read_text()
    assert "break-all" not in css
    rules = {k.strip().rsplit("*/", 1)[-1].strip(): v for k, v in re.findall(r"([^{}]+)\{([^}]*)\}", css)}
    assert "anywhere" not in rules[".journey td"]
    assert "overflow-wrap: anywhere" in rules[".journey td a"]


def test_moving_a_demand_has_no_default_state(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    did = desk.submit("failure", "tony", "VPN drops", channel="phone").demand.id
    c = sign_in("patrick")
    page = c.get(f"/desk/demands/{did}").text
    select = re.search(r'<select id="f-state" name="state".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    assert re.search(r'<option value="" selected>Choose…</option>', select)
    r = c.post(f"/desk/demands/{did}/transition", data={"csrf": csrf_of(c, "/desk"), "state": ""})
    assert r.status_code == 422 and 'id="state-error"' in r.text and "Choose the state" in r.text
    assert desk.get(did).state == "new"


def test_the_desk_shows_customers_by_name(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    did = desk.submit("failure", "tony", "VPN drops", channel="phone").demand.id
    tony = desk.get_customer("tony").name
    c = sign_in("patrick")
    queue = c.get("/desk").text
    row = re.search(rf'<tr><td><a href="/desk/demands/{did}">.*?</tr>', queue, re.S).group(0)  # type: ignore[union-attr]
    assert tony in row and "<td>tony</td>" not in row
    facts = c.get(f"/desk/demands/{did}").text
    assert tony in facts and "(tony)" not in facts


def test_announcements_have_an_empty_state(sign_in: Callable[..., TestClient]) -> None:
    page = sign_in("patrick").get("/desk/announcements").text
    assert "No announcements right now." in page and '<table class="list">' not in page


# ---------------------------------------------------------------------------- too much to send


def test_a_too_large_form_is_a_friendly_page(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in()
    token = csrf_of(c, "/report")
    r = c.post(
        "/report",
        data={"csrf": token, "summary": "Printer jam", "details": "x" * 1_100_000},
        headers={"Referer": "http://testserver/report"},
    )
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    text = text_of(r.text)
    assert "That was too much to send" in text and "Please shorten it" in text
    assert 'href="/report"' in r.text  # back to the form
    assert "Content Too Large" not in r.text


def test_a_too_large_api_body_is_json(client: TestClient) -> None:
    from conftest import API_TOKEN

    r = client.post(
        "/api/v1/demands",
        headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
        content=b'{"customer": "steve", "details": "' + b"x" * 1_100_000 + b'"}',
    )
    assert r.status_code == 413 and "more than we can take" in r.json()["detail"]
