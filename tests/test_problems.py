"""Problems and known errors: linking incidents, the known error's article and announcement, the resolution.

Through the Eagle5 example (the CRM web app and its servers), the desk's public API and the
command line, on the run's database (SQLite, or PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from itsmcore import ArticleState, Conflict, DemandState, InvalidInput, NotFound, ProblemState
from itsmcore.cli import cli
from itsmcore.desk import Desk


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(eagle5: Callable[..., Path], database_url: str, clock: Clock) -> Iterator[Desk]:
    with Desk.open(eagle5(database_url), entry_points=False, clock=clock) as d:
        yield d


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-c", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def confirm_token(desk: Desk, customer: str) -> str:
    for m in desk.messages(customer=customer):
        for line in m["body"].splitlines():
            if "/confirm/" in line and "fixed=yes" in line:
                return urlsplit(line.split(": ", 1)[1]).path.rsplit("/", 1)[-1]
    raise AssertionError(f"{customer} got no confirm link")


def test_a_problem_ties_repeat_incidents_to_a_known_error_and_its_fix(desk: Desk, clock: Clock) -> None:
    steve = desk.submit("failure", "steve", "The CRM report is empty", service="crm").demand
    tony = desk.submit("failure", "tony", "CRM report shows nothing", service="crm").demand
    problem = desk.open_problem("The CRM pipeline report comes out empty", services=["crm"], incidents=[steve.id])
    assert problem.state is ProblemState.NEW and problem.services == ("crm",)
    problem = desk.link_problem_incident(problem.id, tony.id)
    assert [i.demand_id for i in problem.incidents] == [steve.id, tony.id]
    # each link is an event on the incident's journey, behind the scenes
    assert any(e.kind == "problem" and f"problem #{problem.id}" in e.behind_scenes for e in desk.journey(tony.id))
    assert [p.id for p in desk.problems_of_demand(tony.id)] == [problem.id]

    desk.investigate_problem(problem.id)
    problem = desk.known_error(
        problem.id,
        root_cause="The nightly export job stops at a locked row.",
        workaround="Run the report for yesterday; today's figures arrive after 10 am.",
    )
    assert problem.state is ProblemState.KNOWN_ERROR and problem.article_key == f"known-error-{problem.id}"
    article = desk.knowledge.get(problem.article_key)
    assert article.state is ArticleState.PUBLISHED and "Run the report for yesterday" in article.body
    assert article.services == ("crm",)
    assert [h.article.key for h in desk.knowledge.search("pipeline report empty")][:3].count(article.key) == 1
    # each linked customer hears what to do meanwhile: on their demand's journey, and in a message with the article
    for d in (steve, tony):
        (told,) = [e for e in desk.journey(d.id) if e.customer_sees.startswith("We know what causes this.")]
        assert told.customer_sees.endswith(
            "Meanwhile: Run the report for yesterday; today's figures arrive after 10 am."
        )
        (message,) = [m for m in desk.messages(demand_id=d.id) if "We know what causes this" in m["body"]]
        assert message["subject"] == f"#{d.id}: The CRM pipeline report comes out empty"
        assert f"What you can do meanwhile: http://127.0.0.1:8000/knowledge/{article.key}" in message["body"]

    (ann,) = desk.announce_problem(problem.id, estimate="by Friday")
    assert ann.service_key == "crm" and "Run the report for yesterday" in ann.workaround
    assert desk.problem(problem.id).announcements == (ann.id,)

    clock.now += timedelta(hours=3)
    problem = desk.resolve_problem(problem.id, "The export job now skips locked rows.")
    assert problem.state is ProblemState.RESOLVED and problem.resolved_at is not None
    assert desk.announcement(ann.id).state == "resolved"
    for d in (steve, tony):
        now = desk.get(d.id)
        assert now.state is DemandState.RESOLVED and now.waiting_for == "your confirmation"
        # the customer is told, in the status model's words, and asked to confirm with a signed link
        assert desk.customer_status(d.id).label == "Fixed — please confirm"
        assert any("The export job now skips locked rows." in e.customer_sees for e in desk.journey(d.id))
    desk.confirm(confirm_token(desk, "steve"), True)
    assert desk.get(steve.id).state is DemandState.CLOSED
    desk.confirm(confirm_token(desk, "tony"), False)
    assert desk.get(tony.id).state is DemandState.IN_PROGRESS
    led = desk.ledger(desk.get(steve.id).announcement_id or 0)
    assert (led.confirmed_fixed, led.still_broken) == (1, 1)


def test_resolving_a_problem_never_announced_asks_only_its_incidents_customers(desk: Desk) -> None:
    steve = desk.submit("failure", "steve", "CRM is slow", service="crm").demand
    problem = desk.open_problem("CRM slow in the mornings", services=["crm"], incidents=[steve.id])
    desk.resolve_problem(problem.id, "We added memory to the CRM server.")
    assert desk.get(steve.id).state is DemandState.RESOLVED
    assert confirm_token(desk, "steve")
    # Tony subscribes to the CRM but had no incident: he hears nothing of it
    assert not [m for m in desk.messages(customer="tony") if "memory" in m["body"]]


def test_a_problem_on_a_server_reaches_the_services_it_affects(desk: Desk) -> None:
    problem = desk.open_problem("The CRM database runs out of connections", cis=["crm-db-01"])
    assert problem.cis == ("crm-db-01",) and problem.services == ("crm",)
    with pytest.raises(InvalidInput, match="no configuration item 'crm-db-1'"):
        desk.open_problem("Typo", cis=["crm-db-1"])
    with pytest.raises(InvalidInput, match="no service is affected"):
        desk.open_problem("Laptop", cis=["ci-laptop-patrick"])


def test_bad_links_and_moves_are_refused_clearly(desk: Desk) -> None:
    problem = desk.open_problem("CRM sign-in loops", services=["crm"])
    # an incident of another service is linked, and recorded as such
    phone = desk.submit("failure", "steve", "My phone will not ring", service="smartphone").demand
    linked = desk.link_problem_incident(problem.id, phone.id)
    (inc,) = linked.incidents
    assert inc.other_service and inc.service_key == "smartphone"
    assert any("an incident of smartphone" in e.behind_scenes for e in desk.journey(phone.id))
    # a request or a question is not an incident
    request = desk.submit("value", "steve", "", service="expensatron").demand
    with pytest.raises(InvalidInput, match="is a request, not an incident"):
        desk.link_problem_incident(problem.id, request.id)
    question = desk.submit("information", "steve", "How do I export from the CRM?", service="crm").demand
    with pytest.raises(InvalidInput, match="is a question, not an incident"):
        desk.link_problem_incident(problem.id, question.id)
    assert len(desk.problem(problem.id).incidents) == 1, "nothing was linked"
    # unknown problem: the open ones are named
    with pytest.raises(NotFound, match=rf"unknown problem 999; open problems: #{problem.id}"):
        desk.problem(999)
    # a move the lifecycle does not allow: the allowed states are named
    desk.resolve_problem(problem.id, "Fixed the sign-in cookie.")
    with pytest.raises(Conflict) as refused:
        desk.investigate_problem(problem.id)
    assert refused.value.state == "resolved" and refused.value.allowed == []
    other = desk.open_problem("Another", services=["crm"])
    with pytest.raises(Conflict) as refused:
        desk.announce_problem(other.id)
    assert refused.value.allowed == ["investigating", "known_error", "resolved"]
    with pytest.raises(InvalidInput, match="workaround"):
        desk.known_error(other.id, root_cause="A bug.", workaround=" ")
    desk.unlink_problem_incident(problem.id, phone.id)
    assert desk.problem(problem.id).incidents == ()
    with pytest.raises(NotFound, match="not linked"):
        desk.unlink_problem_incident(problem.id, phone.id)


def test_the_command_line_opens_links_and_resolves_a_problem(eagle5: Callable[..., Path], database_url: str) -> None:
    config = eagle5(database_url)
    with Desk.open(config) as desk:
        ids = [desk.submit("failure", c, "CRM is down again", service="crm").demand.id for c in ("steve", "tony")]
        ids.append(desk.submit("failure", "steve", "The CRM fails once more", service="crm").demand.id)
        request = desk.submit("value", "steve", "", service="expensatron").demand.id
    # the report suggests opening a problem for the three incidents of the CRM
    code, out, err = run(config, "report", "repeat-incidents", "--format", "json")
    assert code == 0, out + err
    data = json.loads(out)
    (group,) = [g for g in data["groups"] if g["service"] == "crm"]
    assert group["incidents"] == 3 and group["not_linked"] == 3
    assert data["suggestions"] == [
        f'itsm problem new "Repeated incidents on crm" --service crm --link {ids[0]},{ids[1]},{ids[2]}'
    ]
    for fmt in ("table", "csv", "html"):
        code, out, err = run(config, "report", "repeat-incidents", "--format", fmt)
        assert code == 0 and "crm" in out, out + err

    code, out, err = run(
        config, "problem", "new", "CRM keeps failing", "--service", "crm", "--link", f"{ids[0]},{ids[1]}", "-q"
    )
    assert code == 0, out + err
    pid = int(out.strip())
    code, out, err = run(config, "problem", "link", str(pid), str(ids[2]))
    assert code == 0 and f"linked #{ids[2]}" in out, out + err
    # a request is refused, clearly, and nothing changes
    code, out, err = run(config, "problem", "link", str(pid), str(request))
    assert code != 0 and "is a request, not an incident" in err
    # unknown problem: a clear error naming the open ones
    code, out, err = run(config, "problem", "show", "999")
    assert code != 0 and f"unknown problem 999; open problems: #{pid}" in err
    code, out, err = run(
        config, "problem", "known-error", str(pid), "--root-cause", "A full disk on crm-app-01.",
        "--workaround", "Use the CRM mobile app meanwhile.", "--announce",
    )  # fmt: skip
    assert code == 0 and f"article known-error-{pid}" in out and "announcement" in out, out + err
    code, out, err = run(config, "kb", "show", f"known-error-{pid}")
    assert code == 0 and "Use the CRM mobile app meanwhile." in out, out + err
    code, out, err = run(config, "problem", "show", str(pid), "--format", "json")
    shown = json.loads(out)
    assert shown["state"] == "known_error" and [i["demand"] for i in shown["incidents"]] == ids
    assert shown["allowed"] == ["investigating", "resolved"]
    code, out, err = run(config, "problem", "resolve", str(pid), "--resolution", "We cleaned up the disk.")
    assert code == 0 and "asked to confirm" in out, out + err
    # an invalid move: the allowed states are named
    code, out, err = run(config, "problem", "investigate", str(pid))
    assert code != 0 and "resolved" in err
    code, out, err = run(config, "problem", "list", "--all", "--format", "json")
    assert [p["id"] for p in json.loads(out)] == [pid]
    code, out, err = run(config, "problem", "list")
    assert code == 0 and "CRM keeps failing" not in out
    code, out, err = run(config, "report", "repeat-incidents", "--format", "json")
    assert json.loads(out)["suggestions"] == [], "the incidents are covered by a problem now"
    with Desk.open(config) as desk:
        assert all(desk.get(i).state is DemandState.RESOLVED for i in ids)


PHONE_SERVICE = """
[asks.device]
type = "device"
label = "Which phone"

[[services]]
key = "phone"
name = "My phone"
description = "Your company phone."
kind = "failure"
asks = ["device"]
"""


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_repeat_incidents_are_grouped_by_the_device_named(
    write_deployment: Callable[..., Path], db: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = str(request.getfixturevalue("itsm_postgres_url")) if db == "postgresql" else f"sqlite:///{tmp_path}/itsm.db"
    config = write_deployment(database=url, services=PHONE_SERVICE)
    with Desk.open(config, entry_points=False) as desk:
        on_phone = [
            desk.submit(
                "failure", "steve", f"It drops calls ({n})", service="phone", answers={"device": "ci-phone-steve"}
            ).demand.id
            for n in range(3)
        ]
    code, out, err = run(config, "report", "repeat-incidents", "--format", "json", "--threshold", "3")
    assert code == 0, out + err
    (group,) = json.loads(out)["groups"]
    assert (group["service"], group["ci"], group["incidents"], group["open"]) == ("phone", "ci-phone-steve", 3, 3)
    assert json.loads(out)["suggestions"] == [
        f'itsm problem new "Repeated incidents on ci-phone-steve" --service phone --ci ci-phone-steve --link {",".join(map(str, on_phone))}'
    ]
    code, out, err = run(config, "report", "repeat-incidents", "--format", "csv")
    assert code == 0 and "ci-phone-steve" in out, out + err
    # the suggested command opens the problem, the item recorded beside its service
    code, out, err = run(config, "problem", "new", "Steve's phone drops calls", "--service", "phone", "--ci",
                         "ci-phone-steve", "--link", ",".join(map(str, on_phone)), "-q")  # fmt: skip
    assert code == 0, out + err
    with Desk.open(config, entry_points=False) as desk:
        problem = desk.problem(int(out))
        assert (problem.services, problem.cis, len(problem.incidents)) == (("phone",), ("ci-phone-steve",), 3)


def test_a_known_error_recorded_again_saves_a_new_version_of_its_article(desk: Desk) -> None:
    problem = desk.open_problem("VPN drops every hour " + "x" * 270, services=["crm"])
    desk.known_error(problem.id, root_cause="A key expires.", workaround="Reconnect.")
    key = f"known-error-{problem.id}"
    assert len(desk.knowledge.get(key).title) <= 300
    desk.investigate_problem(problem.id)
    desk.known_error(problem.id, root_cause="The key lifetime is an hour.", workaround="Use the other gateway.")
    article = desk.knowledge.get(key)
    assert article.version == 3 and "Use the other gateway." in article.body
    assert str(article.state) == "published"
    desk.resolve_problem(problem.id, "The key now lasts a day.")
    with pytest.raises(Conflict):
        desk.known_error(problem.id, root_cause="x", workaround="Something else.")
    assert desk.knowledge.get(key).version == 3, "a refused move publishes nothing"


def test_a_new_workaround_is_news_to_the_incidents_customers(desk: Desk) -> None:
    steve = desk.submit("failure", "steve", "VPN drops", service="crm").demand
    problem = desk.open_problem("VPN drops every hour", services=["crm"], incidents=[steve.id])
    desk.known_error(problem.id, root_cause="A key expires.", workaround="Reconnect.")
    desk.investigate_problem(problem.id)
    desk.known_error(problem.id, root_cause="The key lifetime is an hour.", workaround="Use the other gateway.")
    told = [m["body"].splitlines()[0] for m in reversed(desk.messages(demand_id=steve.id)) if "Meanwhile" in m["body"]]
    assert told == [
        "We know what causes this. Meanwhile: Reconnect.",
        "We know what causes this. Meanwhile: Use the other gateway.",
    ]
    desk.resolve_problem(problem.id, "The key now lasts a day.")
