"""The desk's team pages: the team's queue by what breaches first, the agent's own work, the workload per
member, and giving a demand to another member or team (refused, with the team's members, for an outsider)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from conftest import csrf_of
from itsmcore import Desk
from starlette.testclient import TestClient


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_a_team_page_shows_the_queue_my_work_and_the_workload(
    desk: Desk, client: TestClient, sign_in: Callable[..., TestClient]
) -> None:
    first = desk.submit("failure", "steve", "The printer is jammed").demand
    second = desk.submit("failure", "tony", "My keyboard is broken").demand
    assert {first.assignee, second.assignee} == {"nina", "patrick"}  # the service desk, in turn
    mine = first if first.assignee == "patrick" else second
    sign_in("patrick")

    teams = text_of(client.get("/desk/teams").text)
    assert "Service desk" in teams and "Nina Patel, Patrick Hale" in teams

    page = client.get("/desk/teams/service-desk")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "My work" in text and "Queue" in text and "Workload" in text
    my_part = text.split("My work", 1)[1].split("Queue", 1)[0]
    assert mine.summary in my_part and "1 open demand of yours" in my_part
    queue = text.split("What breaches its service level first", 1)[1].split("Workload", 1)[0]
    assert queue.index(first.summary) < queue.index(second.summary)  # its first response falls due first
    assert "(first response)" in queue  # the clock that falls due first, and which one it is
    assert re.search(r"Nina Patel 1 0 Patrick Hale 1 0 Not assigned yet 0 0", text)
    # each row's "give to" list has its own assignee chosen, and the team's list this team
    for d in (first, second):
        row = re.search(rf'<select id="a-q-{d.id}" name="agent">(.*?)</select>', page.text, re.S)
        assert row, page.text[:300]
        chosen = re.findall(r'<option value="([^"]+)" selected>', row.group(1))
        assert chosen == [d.assignee], row.group(1)
        teams_list = re.search(rf'<select id="t-q-{d.id}" name="team">(.*?)</select>', page.text, re.S)
        assert teams_list and re.findall(r'<option value="([^"]+)" selected>', teams_list.group(1)) == ["service-desk"]
    assert client.get("/desk/teams/nobody").status_code == 404


def test_a_long_queue_shows_its_first_part_and_offers_more(
    desk: Desk, client: TestClient, sign_in: Callable[..., TestClient]
) -> None:
    made = [desk.submit("failure", "steve", f"Broken thing {i}").demand for i in range(3)]
    sign_in("patrick")
    page = client.get("/desk/teams/service-desk?show=2")
    queue = text_of(page.text).split("What breaches its service level first", 1)[1].split("Workload", 1)[0]
    assert "2 open demands (the first 2)" in queue
    assert sum(d.summary in queue for d in made) == 2
    assert 'href="?show=500#queue"' in page.text  # and a way to see more
    everything = text_of(client.get("/desk/teams/service-desk?show=500").text)
    assert all(d.summary in everything for d in made) and "Show the first" not in everything
    for nonsense in ("abc", "-5", "", "99999999999999999999"):  # a bad number shows the usual page, or all it may
        assert client.get(f"/desk/teams/service-desk?show={nonsense}").status_code == 200


def test_giving_a_demand_to_an_outsider_is_refused_with_the_members(
    desk: Desk, client: TestClient, sign_in: Callable[..., TestClient]
) -> None:
    d = desk.submit("failure", "steve", "The printer is jammed").demand
    sign_in("patrick")
    token = csrf_of(client, "/desk/teams/service-desk")
    r = client.post(
        f"/desk/teams/service-desk/assign/{d.id}",
        data={"csrf": token, "agent": "steve", "team": "service-desk", "reason": "he knows printers"},
    )
    assert r.status_code == 303
    page = text_of(client.get("/desk/teams/service-desk").text)
    assert "'steve' is not in team service-desk (Service desk); its members: nina, patrick" in page
    assert desk.get(d.id).assignee == d.assignee  # nothing changed

    other = "nina" if d.assignee == "patrick" else "patrick"
    r = client.post(
        f"/desk/teams/service-desk/assign/{d.id}",
        data={"csrf": token, "agent": other, "team": "service-desk", "reason": "on holiday tomorrow"},
    )
    assert r.status_code == 303
    assert desk.get(d.id).assignee == other
    assert f"Demand #{d.id} is with {other} now." in text_of(client.get("/desk/teams/service-desk").text)
    (line,) = [
        e.behind_scenes for e in desk.journey(d.id) if e.kind == "assignment" and "reassigned" in e.behind_scenes
    ]
    assert line.endswith(": on holiday tomorrow") and line.startswith("reassigned by patrick")

    r = client.post(
        f"/desk/teams/service-desk/assign/{d.id}",
        data={"csrf": token, "agent": "", "team": "logistics", "reason": "it is a delivery"},
    )
    assert r.status_code == 303
    assert (desk.get(d.id).team, desk.get(d.id).assignee) == ("logistics", None)


def test_team_pages_are_for_the_desk(desk: Desk, client: TestClient, sign_in: Callable[..., TestClient]) -> None:
    assert client.get("/desk/teams").status_code == 303  # to sign in
    sign_in("steve")
    assert client.get("/desk/teams").status_code == 403
    assert client.get("/desk/teams/service-desk").status_code == 403
