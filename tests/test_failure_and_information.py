"""Failure and information demand: announcements, "this affects me", confirm links, follow-ups, queries."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from itsmcore import (
    Conflict,
    DemandKind,
    DemandState,
    IllegalTransition,
    InvalidAnswers,
    Link,
    NotFound,
    UnknownService,
)
from itsmcore.desk import Desk
from itsmcore.links import InvalidLink, sign


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


def token_of(desk: Desk, customer: str, announcement_id: int) -> str:
    """The confirm token from the resolution message the customer received."""
    for m in desk.messages(customer=customer):
        for line in m["body"].splitlines():
            if "/confirm/" in line and "fixed=yes" in line:
                return urlsplit(line.split(": ", 1)[1]).path.rsplit("/", 1)[-1]
    raise AssertionError(f"{customer} got no confirm link")


def open_crm_outage(desk: Desk) -> int:
    return desk.open_announcement(
        "crm",
        "The CRM web app does not load",
        description="Pages time out after sign-in.",
        workaround="Use the CRM mobile app; we have sent you the link by SMS.",
        links=[Link(title="CRM mobile app", url="https://apps.eagle5.example/crm/mobile")],
        estimate="by 3 pm",
        source="monitoring",
    ).id


def test_subscribers_come_from_the_cmdb_fulfilled_requests_and_explicit_choices(desk: Desk) -> None:
    assert desk.subscribers("crm") == ["steve", "tony"], "Steve and Tony have the CRM app in the CMDB"
    desk.subscribe("scott", "crm")
    desk.unsubscribe("tony", "crm")
    assert desk.subscribers("crm") == ["scott", "steve"], "an unsubscribe is remembered over the CMDB"
    desk.submit("value", "steve", "", service="expensatron")
    assert desk.subscribers("expensatron") == ["steve"], "a fulfilled request subscribes the customer"


def test_the_crm_outage_journey(desk: Desk, clock: Clock) -> None:
    aid = open_crm_outage(desk)
    led = desk.ledger(aid)
    assert led.subscribers == 2 and led.notified == 2 and led.affected == 0
    steve_msgs = [m for m in desk.messages(customer="steve") if m["purpose"] == "announcement"]
    assert "Use the CRM mobile app" in steve_msgs[0]["body"] and "crm/mobile" in steve_msgs[0]["body"]

    # Steve clicks "This affects me"; Tony calls instead and is linked, not a new unrelated ticket
    steve_incident = desk.affects_me(aid, "steve")
    tony = desk.submit("failure", "tony", "CRM won't load", service="crm", channel="phone").demand
    assert tony.announcement_id == aid and desk.get(tony.id).announcement_id == aid
    assert "We know about this" in desk.journey(tony.id)[-1].customer_sees or any(
        "We know about this" in e.customer_sees for e in desk.journey(tony.id)
    )
    assert desk.affects_me(aid, "steve") == steve_incident, "saying it twice changes nothing"
    assert desk.ledger(aid).affected == 2

    clock.now += timedelta(hours=2)
    desk.resolve_announcement(aid, "The load balancer was replaced.")
    assert desk.get(steve_incident).state is DemandState.RESOLVED
    led = desk.ledger(aid)
    assert led.announcement.state == "resolved" and led.no_answer == 2

    # Steve confirms through the link in his message, and gets a survey
    token = token_of(desk, "steve", aid)
    desk.confirm(token, True)
    assert desk.get(steve_incident).state is DemandState.CLOSED
    survey = [m for m in desk.messages(customer="steve") if m["purpose"] == "survey"]
    assert survey and "/survey/" in survey[0]["body"]
    survey_token = survey[0]["body"].split("/survey/", 1)[1].split()[0]
    desk.answer_survey(9, token=survey_token, comment="Quick fix, thanks")
    led = desk.ledger(aid)
    assert (led.confirmed_fixed, led.no_answer) == (1, 1)

    # Tony does not answer: after the follow-up period he is followed up, not forgotten
    clock.now += timedelta(hours=49)
    desk.run_due_jobs()
    led = desk.ledger(aid)
    assert led.followed_up == 1
    assert any(e.kind == "follow_up" for e in desk.journey(tony.id))
    assert desk.get(tony.id).waiting_for == "a call from the service desk"
    assert any(m["purpose"] == "reminder" for m in desk.messages(customer="tony"))


def test_still_broken_reopens_with_the_history(desk: Desk) -> None:
    aid = open_crm_outage(desk)
    did = desk.affects_me(aid, "steve")
    desk.resolve_announcement(aid, "Fixed the database.")
    desk.confirm(token_of(desk, "steve", aid), False)
    d = desk.get(did)
    assert d.state is DemandState.IN_PROGRESS
    assert desk.ledger(aid).still_broken == 1
    assert any("reopened" in e.customer_sees for e in desk.journey(did))


def test_confirm_links_tampered_expired_or_for_someone_else_are_refused(desk: Desk, clock: Clock) -> None:
    aid = open_crm_outage(desk)
    desk.affects_me(aid, "steve")
    desk.resolve_announcement(aid, "Fixed.")
    token = token_of(desk, "steve", aid)
    payload, mac = token.split(".")
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + mac
    with pytest.raises(InvalidLink, match="not valid"):
        desk.confirm(tampered, True)
    with pytest.raises(InvalidLink, match="not valid"):
        desk.confirm("garbage", True)
    forged = sign(b"not the deployment's secret", "announcement", aid, "steve", clock.now, timedelta(days=1))
    with pytest.raises(InvalidLink):
        desk.confirm(forged, True)
    with pytest.raises(InvalidLink, match="someone else"):
        desk.confirm(token, True, customer="tony")
    clock.now += timedelta(days=8)
    with pytest.raises(InvalidLink, match="expired"):
        desk.confirm(token, True)
    assert desk.ledger(aid).confirmed_fixed == 0


def test_bad_announcement_requests(desk: Desk) -> None:
    with pytest.raises(UnknownService, match="did you mean 'crm'"):
        desk.open_announcement("crn", "down")
    aid = open_crm_outage(desk)
    desk.resolve_announcement(aid, "Fixed.")
    with pytest.raises(Conflict, match="already resolved") as resolved_twice:
        desk.resolve_announcement(aid, "Fixed again.")
    assert resolved_twice.value.state == "resolved" and resolved_twice.value.http_status == 409
    with pytest.raises(Conflict, match="already been fixed"):
        desk.affects_me(aid, "steve")


def test_a_customer_no_channel_can_reach_falls_back_to_the_portal_inbox_and_is_counted(desk: Desk) -> None:
    desk.subscribe("patrick", "crm")
    aid = open_crm_outage(desk)
    led = desk.ledger(aid)
    # nobody in the example has a reachable email or SMS channel configured: all fall back, and are counted
    assert led.notified == 3 and led.unreachable == 3
    assert desk.messages(customer="patrick")[0]["channel"] == "log"


def test_where_is_my_smartphone_is_answered_without_a_person(desk: Desk) -> None:
    phone = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "customer visits"}).demand
    q = desk.submit("information", "steve", "Where is the smartphone I requested?").demand
    q = desk.get(q.id)
    assert q.state is DemandState.ANSWERED
    (answer,) = [e.customer_sees for e in desk.journey(q.id) if e.kind == "state"]
    assert f"#{phone.id}" in answer and "waiting for approval from Scott (your manager)" in answer


def test_a_query_with_no_answer_is_routed_to_a_person_not_dropped(desk: Desk) -> None:
    q = desk.submit("information", "tony", "Who decides the parking rota?").demand
    assert desk.get(q.id).state is DemandState.IN_PROGRESS
    assert any(e.kind == "routed" for e in desk.journey(q.id))


def test_knowledge_answers_queries(desk: Desk) -> None:
    q = desk.submit("information", "tony", "how do I claim expenses?").demand
    assert desk.get(q.id).state is DemandState.ANSWERED
    (answer,) = [e for e in desk.journey(q.id) if e.kind == "state"]
    assert "Expensatron" in answer.customer_sees and "knowledge article kb-expenses" in answer.behind_scenes


def test_a_how_to_question_gets_the_article_even_when_the_customer_has_that_service(desk: Desk) -> None:
    desk.submit("value", "steve", "", service="expensatron", answers={"mobile_number": "+447700900123"})
    answer = desk.suggest_answer("steve", "how do I claim my expenses?")
    assert answer is not None and answer.source == "knowledge article kb-expenses" and answer.about is None
    assert [link.url.rsplit("/", 2)[-2:] for link in answer.links] == [["knowledge", "kb-expenses"]]


def test_a_question_about_the_customers_own_demand_gets_its_status(desk: Desk) -> None:
    phone = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "customer visits"}).demand
    for question in ("where is my smartphone?", f"status of #{phone.id}", "any news on my request?"):
        answer = desk.suggest_answer("steve", question)
        assert answer is not None and answer.about == phone.id, question
        assert f"#{phone.id}" in answer.text and "waiting for approval" in answer.text
        assert [link.url.rsplit("/", 2)[-2:] for link in answer.links] == [["demands", str(phone.id)]]


def test_someone_elses_demand_id_tells_nothing_about_it(desk: Desk) -> None:
    phone = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "customer visits"}).demand
    answer = desk.suggest_answer("tony", f"where is #{phone.id}?")
    assert answer is None, "Tony learns nothing of Steve's request"
    q = desk.submit("information", "tony", f"status of #{phone.id}").demand
    assert desk.get(q.id).state is DemandState.IN_PROGRESS, "routed to a person"
    assert not any("smartphone" in e.customer_sees or "approval" in e.customer_sees for e in desk.journey(q.id))


def test_nonsense_and_loose_matches_are_routed_to_a_person(desk: Desk) -> None:
    assert desk.suggest_answer("steve", "zxqv blorp") is None
    assert desk.suggest_answer("steve", "my home printer smells of burning toast") is None, "one word is not enough"
    q = desk.submit("information", "steve", "zxqv blorp").demand
    assert desk.get(q.id).state is DemandState.IN_PROGRESS
    assert any(e.kind == "routed" for e in desk.journey(q.id))


def test_survey_answers_outside_the_scale_are_refused(desk: Desk) -> None:
    d = desk.submit("failure", "steve", "printer jam").demand
    for bad in (11, -1):
        with pytest.raises(InvalidAnswers, match="0 to 10"):
            desk.answer_survey(bad, customer="steve", demand_id=d.id)
    with pytest.raises(InvalidAnswers, match="1 to 5"):
        desk.answer_survey(6, customer="steve", method="csat", demand_id=d.id)
    desk.answer_survey(10, customer="steve", demand_id=d.id)
    with pytest.raises(Conflict, match="already answered"):  # wrong state, not bad input
        desk.answer_survey(3, customer="steve", demand_id=d.id)


def test_announcements_from_the_command_line(eagle5: Callable[..., Path]) -> None:
    cfg = str(eagle5())
    base = [sys.executable, "-m", "itsmcore", "-c", cfg]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args], capture_output=True, text=True)

    r = run(
        "announcement",
        "open",
        "--service",
        "crm",
        "--title",
        "CRM down",
        "--workaround",
        "Use the app",
        "--link",
        "App=https://apps.eagle5.example/crm/mobile",
        "--format",
        "json",
    )
    assert r.returncode == 0, r.stderr
    aid = str(json.loads(r.stdout)["id"])
    assert run("announcement", "affects-me", aid, "--customer", "steve").returncode == 0
    r = run("announcement", "show", aid, "--format", "json")
    assert json.loads(r.stdout)["ledger"]["affected"] == 1
    assert run("announcement", "resolve", aid, "--resolution", "Fixed").returncode == 0
    r = run("announcement", "resolve", aid, "--resolution", "Again")
    assert r.returncode == 1 and "already resolved" in r.stderr
    r = run("announcement", "affects-me", aid, "--customer", "tony")
    assert r.returncode == 1 and "already been fixed" in r.stderr
    r = run("announcement", "open", "--service", "crn", "--title", "x")
    assert r.returncode == 1 and "did you mean 'crm'" in r.stderr
    r = run("announcement", "show", aid)
    assert "confirmed fixed" in r.stdout and "no answer" in r.stdout
    r = run("survey", "answer", "--customer", "steve", "--score", "42")
    assert r.returncode == 1 and "0 to 10" in r.stderr


def test_incident_kinds_and_links(desk: Desk) -> None:
    d = desk.submit("failure", "steve", "VPN drops", channel="phone", actor="agent").demand
    assert d.kind is DemandKind.FAILURE and d.channel == "phone"
    assert desk.journey(d.id)[0].actor == "agent"


def test_a_signed_in_customer_confirms_without_a_link(desk: Desk) -> None:
    aid = open_crm_outage(desk)
    assert [a.id for a in desk.announcements_for("steve")] == [aid], "Steve uses the CRM (his CI)"
    assert desk.announcements_for("scott") == [], "Scott has no CRM app and no CRM demand"
    did = desk.affects_me(aid, "steve")
    desk.resolve_announcement(aid, "Fixed the database.")
    assert desk.announcements_for("steve") == []
    with pytest.raises(NotFound):
        desk.confirm_demand(did, "tony", True)  # not his: as if it did not exist
    assert desk.confirm_demand(did, "steve", True) == did
    assert desk.get(did).state is DemandState.CLOSED
    assert desk.ledger(aid).confirmed_fixed == 1, "the ledger counts a portal confirmation like a link"


def test_confirming_an_ordinary_demand_closes_or_reopens_it(desk: Desk) -> None:
    d = desk.submit("failure", "tony", "printer jam", channel="phone").demand
    with pytest.raises(IllegalTransition):
        desk.confirm_demand(d.id, "tony", True)  # nothing to confirm before it is resolved
    desk.resolve(d.id, "Cleared the jam.")
    desk.confirm_demand(d.id, "tony", False)
    assert desk.get(d.id).state is DemandState.IN_PROGRESS
    desk.resolve(d.id, "Replaced the roller.")
    desk.confirm_demand(d.id, "tony", True)
    assert desk.get(d.id).state is DemandState.CLOSED


def test_an_answer_is_suggested_before_anything_is_stored(desk: Desk) -> None:
    before = len(desk.list_demands(customer="tony"))
    answer = desk.suggest_answer("tony", "how do I claim expenses?")
    assert answer is not None and "Expensatron" in answer.text
    assert desk.suggest_answer("tony", "who decides the parking rota?") is None
    assert len(desk.list_demands(customer="tony")) == before, "a suggestion writes no demand"


def test_a_fanout_batch_run_twice_sends_each_notification_once(
    eagle5: Callable[..., Path], database_url: str, clock: Clock
) -> None:
    # A runner that died after committing a batch leaves its job to be run again.
    path = eagle5(database_url)
    text = path.read_text().replace('use = "inline"', 'use = "deferred"')
    if 'use = "deferred"' not in text:
        text += '\n[runner]\nuse = "deferred"\n'
    path.write_text(text)
    with Desk.open(path, entry_points=False, clock=clock) as d:
        d.open_announcement("crm", "The CRM does not load")
        (fanout,) = [j for j in d.jobs(state="pending") if j.action == "itsm.fanout"]
        assert d.claim(fanout.id)
        d.execute_job(fanout.id)
        again = d.execute_job(fanout.id)  # as a second runner would after the lease
        assert again.state == "done", again.error
        d.run_due_jobs()
        d.run_due_jobs()
        sent = [m["customer_id"] for m in d.messages() if m["purpose"] == "announcement"]
        assert sorted(sent) == ["steve", "tony"]


def test_an_answer_that_did_not_help_goes_to_a_person_and_stops_counting_as_self_service(desk: Desk) -> None:
    d = desk.submit("information", "steve", "How do I claim my expenses?").demand
    assert d.state is DemandState.ANSWERED
    assert desk.survey_allowed("steve", d) == (False, "the customer solved it themselves")
    desk.confirm_demand(d.id, "steve", False)
    assert desk.get(d.id).state is DemandState.IN_PROGRESS
    last = desk.journey(d.id)[-1]
    assert last.actor == "customer" and "someone from IT will answer you" in last.customer_sees
    assert desk.survey_allowed("steve", desk.get(d.id))[1] != "the customer solved it themselves"
