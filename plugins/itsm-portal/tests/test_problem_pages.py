"""The desk's problem pages: open a problem, link incidents (a request refused), a known error, resolve."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from conftest import csrf_of

if TYPE_CHECKING:
    from itsmcore import Desk
    from starlette.testclient import TestClient


def test_an_agent_runs_a_problem_from_the_desk(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    steve = desk.submit("failure", "steve", "The CRM will not load", service="crm").demand.id
    tony = desk.submit("failure", "tony", "CRM is down", service="crm").demand.id
    phone = desk.submit("failure", "tony", "My phone will not ring", service="smartphone").demand.id
    request = desk.submit("value", "steve", "", service="expensatron").demand.id
    agent = sign_in("patrick")
    token = csrf_of(agent, "/desk/problems")
    new = {
        "csrf": token,
        "title": "CRM keeps failing",
        "services": "crm",
        "cis": "",
        "description": "",
        "incidents": f"{steve}",
    }
    r = agent.post("/desk/problems", data=new)
    assert r.status_code == 303, r.text
    where = r.headers["location"]
    (problem,) = desk.problems()
    assert where == f"/desk/problems/{problem.id}" and [i.demand_id for i in problem.incidents] == [steve]
    assert "CRM keeps failing" in agent.get("/desk/problems").text

    r = agent.post(f"{where}/link", data={"csrf": token, "demand": f"#{tony}, {phone}"})
    assert r.status_code == 303
    page = agent.get(where)
    assert f"#{tony}" in page.text and "(another service)" in page.text
    r = agent.post(f"{where}/link", data={"csrf": token, "demand": str(request)})
    assert r.status_code == 422 and "not an incident" in r.text
    r = agent.post(f"{where}/link", data={"csrf": token, "demand": "999999"})
    assert r.status_code == 404 and "999999" in r.text
    r = agent.post(f"{where}/unlink", data={"csrf": token, "demand": str(phone)})
    assert r.status_code == 303 and [i.demand_id for i in desk.problem(problem.id).incidents] == [steve, tony]

    r = agent.post(f"{where}/known-error", data={"csrf": token, "root_cause": "A full disk.", "workaround": ""})
    assert r.status_code == 422 and "workaround" in r.text
    r = agent.post(
        f"{where}/known-error", data={"csrf": token, "root_cause": "A full disk.", "workaround": "Use the mobile app."}
    )
    assert r.status_code == 303 and str(desk.problem(problem.id).state) == "known_error"
    assert f"known-error-{problem.id}" in agent.get(where).text
    r = agent.post(f"{where}/resolve", data={"csrf": token, "resolution": "We freed the disk."})
    assert r.status_code == 303
    assert [str(desk.get(d).state) for d in (steve, tony)] == ["resolved", "resolved"]
    # a move no longer allowed: said on the page, nothing changes
    r = agent.post(f"{where}/investigate", data={"csrf": token}, follow_redirects=True)
    assert "it stays there" in r.text and str(desk.problem(problem.id).state) == "resolved"
    assert agent.get("/desk/problems/424242").status_code == 404


def test_customers_cannot_use_the_problem_pages(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in("steve")
    assert c.get("/desk/problems").status_code in (403, 404)


def test_an_incident_is_linked_from_its_own_page(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    incident = desk.submit("failure", "steve", "The CRM will not load", service="crm").demand.id
    request = desk.submit("value", "steve", "", service="expensatron").demand.id
    problem = desk.open_problem("CRM keeps failing", services=["crm"])
    agent = sign_in("patrick")
    token = csrf_of(agent, f"/desk/demands/{incident}")
    assert "Link to a problem" in agent.get(f"/desk/demands/{incident}").text
    assert "Link to a problem" not in agent.get(f"/desk/demands/{request}").text, "only incidents"
    r = agent.post(f"/desk/demands/{incident}/problem", data={"csrf": token, "problem": str(problem.id)})
    assert r.status_code == 303 and [i.demand_id for i in desk.problem(problem.id).incidents] == [incident]
    page = agent.get(f"/desk/demands/{incident}")
    assert f'href="/desk/problems/{problem.id}"' in page.text and "CRM keeps failing" in page.text
    # the link is on the incident's journey, naming the agent who made it
    (event,) = [e for e in desk.journey(incident) if e.kind == "problem"]
    assert event.by is not None and event.by.login == "patrick"
    r = agent.post(
        f"/desk/demands/{request}/problem", data={"csrf": token, "problem": str(problem.id)}, follow_redirects=True
    )
    assert "not an incident" in r.text
