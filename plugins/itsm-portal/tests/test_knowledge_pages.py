"""Knowledge in the portal: articles beside services in search, their audience, "did this help?", the desk's pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from conftest import csrf_of

if TYPE_CHECKING:
    from itsmcore import Desk
    from starlette.testclient import TestClient

REPORT_BODY = "Open **Reports**, choose *Pipeline* and pick the quarter.\n\n<script>alert(1)</script>"


def _crm_article(desk: Desk, *, audience: tuple[str, ...] = ("crm-users",)) -> None:
    desk.knowledge.create(
        "crm-pipeline-report",
        "Running your pipeline report in the CRM",
        REPORT_BODY,
        services=("crm",),
        keywords=("report", "pipeline", "forecast"),
        audience=audience,
        actor="patrick",
    )
    desk.knowledge.publish("crm-pipeline-report", actor="patrick")


def test_a_customer_finds_an_article_beside_services_with_typos_and_says_whether_it_helped(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    _crm_article(desk)
    c = sign_in("steve")
    page = c.get("/search", params={"q": "pipline reprot"})
    assert page.status_code == 200
    assert 'href="/knowledge/crm-pipeline-report"' in page.text and "Did this help?" in page.text
    live = c.get("/search.json", params={"q": "pipeline report"}).json()
    assert [a["key"] for a in live["articles"]] == ["crm-pipeline-report"]
    article = c.get("/knowledge/crm-pipeline-report")
    assert article.status_code == 200
    assert "<strong>Reports</strong>" in article.text, "the Markdown is rendered"
    assert "<script>alert(1)" not in article.text and "&lt;script&gt;" in article.text, "raw HTML is text"
    token = csrf_of(c, "/knowledge/crm-pipeline-report")
    r = c.post("/knowledge/crm-pipeline-report/helped", data={"csrf": token, "helped": "no"})
    assert r.status_code == 303
    r = c.post(
        "/knowledge/crm-pipeline-report/helped",
        data={"csrf": token, "helped": "yes", "back": "/search?q=pipeline"},
    )
    assert r.headers["location"] == "/search?q=pipeline"
    from itsmcore.reports import Scope
    from itsmcore.reports.knowledge import knowledge_report

    figures = {a.key: a for a in knowledge_report(desk, Scope()).articles}["crm-pipeline-report"]
    assert (figures.reads, figures.helped, figures.not_helped) == (2, 1, 1), "two page views, one yes, one no"


def test_a_customer_outside_the_audience_never_sees_the_article(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    _crm_article(desk, audience=("managers",))
    c = sign_in("steve")  # sales and crm-users, not managers
    page = c.get("/search", params={"q": "pipeline report"})
    assert "crm-pipeline-report" not in page.text
    assert c.get("/search.json", params={"q": "pipeline report"}).json()["articles"] == []
    assert c.get("/knowledge/crm-pipeline-report").status_code == 404
    token = csrf_of(c, "/")
    r = c.post("/knowledge/crm-pipeline-report/helped", data={"csrf": token, "helped": "yes"})
    assert r.status_code == 404


def test_a_search_finding_nothing_is_an_article_to_write(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    c = sign_in("steve")
    page = c.get("/search", params={"q": "zzqx toner cartridges"})
    assert page.status_code == 200 and "Nothing matched" in page.text
    from itsmcore.reports import Scope
    from itsmcore.reports.knowledge import knowledge_report

    report = knowledge_report(desk, Scope())
    assert [u.query for u in report.unfound] == ["zzqx toner cartridges"]


def test_agents_write_publish_and_retire_articles_and_a_racing_save_is_refused_with_the_diff(
    sign_in: Callable[..., TestClient], second_client: TestClient, desk: Desk
) -> None:
    agent = sign_in("patrick")
    token = csrf_of(agent, "/desk/knowledge")
    new = {
        "csrf": token,
        "key": "printer-toner",
        "title": "Changing the printer's toner",
        "services": "",
        "keywords": "printer, toner",
        "audience": "",
        "owner": "",
        "body": "Open the front cover and pull the cartridge out.",
        "note": "",
    }
    r = agent.post("/desk/knowledge", data=new)
    assert r.status_code == 303 and r.headers["location"] == "/desk/knowledge/printer-toner"
    assert str(desk.knowledge.get("printer-toner").state) == "draft"
    customer = sign_in("steve", on=second_client)
    assert customer.get("/knowledge/printer-toner").status_code == 404, "a draft is not for customers"
    r = agent.post("/desk/knowledge/printer-toner/publish", data={"csrf": token})
    assert r.status_code == 303 and customer.get("/knowledge/printer-toner").status_code == 200

    page = agent.get("/desk/knowledge/printer-toner")
    base = re.search(r'name="base" value="(\d+)"', page.text)
    assert base is not None and base.group(1) == "2"
    edit = {k: v for k, v in new.items() if k != "key"} | {"base": "2"}
    desk.knowledge.edit("printer-toner", base_version=2, actor="susan", body="Lift the lid; the toner slides out.")
    r = agent.post("/desk/knowledge/printer-toner", data=edit | {"body": "My own words, not to be lost."})
    assert r.status_code == 409
    assert "Someone else saved this article meanwhile" in r.text
    assert "My own words, not to be lost." in r.text, "the agent's text is kept in the form"
    assert "+Lift the lid; the toner slides out." in r.text, "what changed meanwhile is shown"
    assert desk.knowledge.get("printer-toner").body == "Lift the lid; the toner slides out."
    r = agent.post("/desk/knowledge/printer-toner", data=edit | {"base": "3", "body": "Merged words."})
    assert r.status_code == 303 and desk.knowledge.get("printer-toner").version == 4

    r = agent.post("/desk/knowledge/printer-toner/retire", data={"csrf": token})
    assert r.status_code == 303 and customer.get("/knowledge/printer-toner").status_code == 404
    history = agent.get("/desk/knowledge/printer-toner?from=1")
    assert "retired" in history.text and "+Merged words." in history.text


def test_customers_cannot_use_the_desk_pages(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in("steve")
    assert c.get("/desk/knowledge").status_code in (403, 404)
