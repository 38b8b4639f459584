"""Experience analytics: journey maps, to-be gaps, surveys, failure demand, better than last time."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from itsmcore import Stage
from itsmcore.desk import Desk
from itsmcore.history import Clock
from itsmcore.reports import (
    Scope,
    consistency_report,
    experience_report,
    failure_demand_report,
    journey_report,
    survey_report,
)
from itsmcore.reports.journeys import human_duration
from itsmcore.reports.render import experience_html, stage_rows

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

TO_BE = """
[journeys.smartphone]
stages = [
    { stage = "engage", within = "5m", effort = 1, channels = ["portal"] },
    { stage = "acknowledge" },
    { stage = "fulfil", within = "1d" },
    { stage = "outcome" },
]
"""


def itsm(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "itsmcore", "-c", str(config), *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def config(eagle5: Callable[..., Path], database_url: str) -> Path:
    return eagle5(database_url, TO_BE)


@pytest.fixture
def desk(config: Path, clock: Clock) -> Iterator[Desk]:
    with Desk.open(config, entry_points=False, clock=clock) as d:
        yield d


def phone_request(desk: Desk, clock: Clock, customer: str, approval: timedelta) -> int:
    """A smartphone request approved after ``approval``, then shipped at once (the plan's task done)."""
    d = desk.submit(
        "value", customer, "", service="smartphone", answers={"reason": "customer visits"}, channel="portal"
    )
    did = d.demand.id
    clock.now += approval
    desk.approve(did, "scott", "ok")
    for task in desk.tasks(demand_id=did):
        desk.finish_task(task.id)
    clock.now += timedelta(minutes=30)
    return did


def test_journey_map_times_each_stage_from_the_events(desk: Desk, clock: Clock) -> None:
    phone_request(desk, clock, "steve", timedelta(hours=2))
    phone_request(desk, clock, "tony", timedelta(days=3))
    phone_request(desk, clock, "steve", timedelta(days=4))
    m, gaps = journey_report(desk, Scope(service="smartphone"))
    assert m.journeys == 3
    stages = {s.stage: s for s in m.stages}
    assert list(stages)[:3] == [Stage.ENGAGE, Stage.ACKNOWLEDGE, Stage.FULFIL], "stages in journey order"
    assert stages[Stage.ENGAGE].share == 1.0 and stages[Stage.ENGAGE].channels == {"portal": 3}
    # fulfil lasts from submission to the outcome: the wait for approval (nearest-rank percentiles)
    assert stages[Stage.FULFIL].median_seconds == pytest.approx(72 * 3600, abs=60)
    assert stages[Stage.FULFIL].p90_seconds == pytest.approx(96 * 3600, abs=60)
    assert m.outcome_median_seconds == pytest.approx(72 * 3600, abs=60)
    assert m.effort_per_journey >= 1, "the customer typed their reason"
    slow = [g for g in gaps if g.kind == "slow"]
    assert slow and slow[0].stage is Stage.FULFIL and "1d" in slow[0].detail, gaps


def test_an_empty_period_says_so(config: Path, desk: Desk) -> None:
    m, gaps = journey_report(desk, Scope(since=T0 + timedelta(days=400)))
    assert m.empty and gaps == []
    assert failure_demand_report(desk, Scope(since=T0 + timedelta(days=400))).share == 0.0
    for report in ("journeys", "failure-demand", "consistency", "surveys", "experience"):
        r = itsm(config, "report", report, "--since", "2099-01-01")
        assert r.returncode == 0, r.stderr
        assert "No " in r.stdout and "Traceback" not in r.stderr, (report, r.stdout)


def test_surveys_by_service_with_sample_size_and_interval_and_detractors_beside_their_journeys(
    desk: Desk, clock: Clock
) -> None:
    fast = phone_request(desk, clock, "steve", timedelta(hours=1))
    slow = phone_request(desk, clock, "tony", timedelta(days=6))
    desk.answer_survey(10, customer="steve", demand_id=fast)
    desk.answer_survey(2, customer="tony", demand_id=slow, comment="Six days for a phone <b>really</b>?")
    rows, low = survey_report(desk, Scope())
    by = {(r.dimension, r.group): r.score for r in rows if r.method == "nps"}
    assert by[("overall", "all")].n == 2 and by[("overall", "all")].value == 0.0
    assert by[("service", "smartphone")].low is not None and by[("service", "smartphone")].low < 0
    assert by[("department", "Sales")].n == 2
    (d,) = low
    assert d.demand_id == slow and d.score == 2 and any(stage == "fulfil" for stage, _ in d.journey)


def test_failure_demand_by_cause(desk: Desk, clock: Clock) -> None:
    desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visits"})  # value demand
    desk.submit("information", "steve", "where is my smartphone?")  # a chase
    desk.submit("information", "tony", "how do I claim expenses?")  # could not find it
    desk.submit("failure", "tony", "printer jam")  # an incident
    desk.submit("failure", "tony", "printer jam again", service="crm")
    desk.submit("failure", "tony", "still the printer", service="crm")  # a repeat within the week
    aid = desk.open_announcement("crm", "The CRM does not load").id
    desk.affects_me(aid, "steve")  # absorbed by the announcement
    fd = failure_demand_report(desk, Scope())
    c = fd.by_category
    assert (c["request"], c["chase"], c["cant_find"], c["incident"], c["repeat"], c["affects_me"]) == (
        1,
        1,
        1,
        2,
        1,
        1,
    ), c
    assert fd.contacts == 7 and fd.failure == 6 and fd.absorbed == 1


def test_better_than_last_time_names_who_got_a_worse_experience(desk: Desk, clock: Clock) -> None:
    first = phone_request(desk, clock, "steve", timedelta(hours=1))
    desk.answer_survey(10, customer="steve", demand_id=first)
    second = phone_request(desk, clock, "steve", timedelta(days=4))
    phone_request(desk, clock, "tony", timedelta(hours=2))
    c = consistency_report(desk, Scope())
    assert c.compared == 1 and c.worse == 1 and c.as_good_share == 0.0
    (pair,) = c.pairs
    assert (pair.customer_id, pair.previous_id, pair.current_id) == ("steve", first, second)
    assert pair.why == "slower" and pair.previous_score == 1.0 and pair.current_score is None
    clock.now += timedelta(days=40)  # past the one-survey-per-period rule
    desk.answer_survey(3, customer="steve", demand_id=second)
    (pair,) = consistency_report(desk, Scope()).pairs
    assert pair.why == "slower, lower score" and pair.current_score == 0.3, "a survey answered later counts"


def test_the_html_experience_report_is_one_page_with_an_svg_map_and_everything_escaped(
    desk: Desk, clock: Clock
) -> None:
    did = phone_request(desk, clock, "steve", timedelta(hours=3))
    desk.answer_survey(3, customer="steve", demand_id=did, comment="<script>alert(1)</script>")
    page = experience_html(experience_report(desk, Scope()))
    assert page.startswith("<!doctype html>") and "<svg" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<link" not in page and " src=" not in page and "<script" not in page, "no CDN, no JavaScript"


def test_report_formats_from_the_command_line(config: Path, clock: Clock) -> None:
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        phone_request(desk, clock, "steve", timedelta(hours=3))
    since = T0.date().isoformat()
    j = itsm(config, "report", "journeys", "--service", "smartphone", "--since", since, "--format", "json")
    assert j.returncode == 0, j.stderr
    data = json.loads(j.stdout)
    assert data["journeys"] == 1 and data["stages"][0]["stage"] == "engage" and data["id"]
    csv = itsm(config, "report", "failure-demand", "--format", "csv")
    assert csv.stdout.splitlines()[0].startswith("id,failure_demand,contacts,share")
    out = config.parent / "experience.html"
    h = itsm(config, "report", "experience", "--format", "html", "-o", str(out))
    assert h.returncode == 0 and "<svg" in out.read_text()
    bad = itsm(config, "report", "journeys", "--service", "smartfone")
    assert bad.returncode != 0 and "smartphone" in bad.stderr, "unknown service: a close match, not a crash"
    when = itsm(config, "report", "surveys", "--since", "last tuesday")
    assert when.returncode == 2 and "expected a date" in when.stderr


@pytest.mark.parametrize(
    ("to_be", "expected"),
    [
        ('[journeys.smartfone]\nstages = [{ stage = "engage" }]\n', "journeys.smartfone: no service 'smartfone'"),
        ('[journeys.smartphone]\nstages = [{ stage = "fulfill" }]\n', "journeys.smartphone.stages"),
        ('[journeys.smartphone]\nstages = [{ stage = "fulfil", within = "soon" }]\n', "expected a duration"),
    ],
)
def test_a_to_be_journey_naming_what_does_not_exist_is_a_config_error(
    eagle5: Callable[..., Path], to_be: str, expected: str
) -> None:
    r = itsm(eagle5(None, to_be), "check")
    assert r.returncode == 2, r.stdout
    assert expected in r.stderr and "itsm.toml" in r.stderr, r.stderr


def test_the_history_generator_gives_the_reports_something_to_show(tmp_path: Path) -> None:
    import shutil

    target = tmp_path / "eagle5"
    shutil.copytree(
        Path(__file__).resolve().parents[1] / "examples" / "eagle5",
        target,
        ignore=shutil.ignore_patterns("*.db*", ".itsm-secret", "history-customers.toml"),
    )
    config = target / "history.toml"
    r = itsm(config, "history", "generate", "--customers", "80", "--demands", "120", "--days", "40")
    assert r.returncode == 0, r.stderr
    assert "history: 80 customers" in r.stdout
    report = itsm(config, "report", "experience", "--format", "json")
    data = json.loads(report.stdout)
    assert data["overall"]["journeys"] >= 120
    assert 0 < data["failure_share"] < 1
    assert any(s["service"] == "smartphone" and s["gaps"] for s in data["services"]), "the slow approval shows"


def test_reports_fold_in_new_events_and_whole_days_agree_with_exact_times(desk: Desk, clock: Clock) -> None:
    phone_request(desk, clock, "steve", timedelta(hours=2))
    first, _ = journey_report(desk, Scope())
    desk.submit("failure", "tony", "printer jam", channel="phone")
    desk.comment(1, "any news?", actor="customer", channel="email")
    again, _ = journey_report(desk, Scope())
    assert (first.journeys, again.journeys) == (1, 2), "a report reads what was written since the last one"
    engage = {s.stage: s for s in again.stages}[Stage.ENGAGE]
    assert engage.reached == 2 and engage.channels == {"portal": 1, "phone": 1}
    # a whole-day period (day buckets) and an exact one (the rollup) count the same journeys
    day = Scope(since=T0.replace(hour=0), until=T0.replace(hour=0) + timedelta(days=1))
    exact = Scope(since=T0 - timedelta(minutes=1), until=T0 + timedelta(hours=23))
    by_day, by_time = journey_report(desk, day)[0], journey_report(desk, exact)[0]
    assert [(s.stage, s.reached, s.effort) for s in by_day.stages] == [
        (s.stage, s.reached, s.effort) for s in by_time.stages
    ]
    assert failure_demand_report(desk, day).by_category["chase"] == 1, "Steve's comment was a chase"


def test_better_than_last_time_compares_only_demands_of_the_same_service_and_kind(desk: Desk, clock: Clock) -> None:
    quick = desk.submit("failure", "steve", "the CRM does not load", service="crm").demand.id
    clock.now += timedelta(minutes=5)
    desk.resolve(quick, "restarted it")
    clock.now += timedelta(hours=1)
    phone_request(desk, clock, "steve", timedelta(days=4))  # slower, but another service and kind
    slow = desk.submit("failure", "steve", "no sound in calls", service="smartphone").demand.id
    clock.now += timedelta(days=2)
    desk.resolve(slow, "replaced the headset")
    c = consistency_report(desk, Scope())
    assert c.compared == 0 and c.pairs == (), "a phone is no step backwards from a CRM fix"
    again = desk.submit("failure", "steve", "the CRM is slow", service="crm").demand.id
    clock.now += timedelta(days=1)
    desk.resolve(again, "more memory")
    c = consistency_report(desk, Scope())
    (pair,) = c.pairs
    assert c.compared == 1 and (pair.previous_id, pair.current_id, pair.service_key) == (quick, again, "crm")


def test_the_journey_header_and_its_outcome_row_give_one_time_to_outcome(desk: Desk, clock: Clock) -> None:
    for approval in (timedelta(hours=2), timedelta(days=3)):
        did = phone_request(desk, clock, "steve", approval)
        clock.now += timedelta(days=5)  # the customer confirms days after the outcome
        desk.confirm_demand(did, "steve", True)
    m, _ = journey_report(desk, Scope(service="smartphone"))
    outcome = {s.stage: s for s in m.stages}[Stage.OUTCOME]
    assert (outcome.median_seconds, outcome.p90_seconds) == (m.outcome_median_seconds, m.outcome_p90_seconds)
    assert m.outcome_median_seconds == pytest.approx(2 * 3600, abs=60), "not the wait for the confirmation"
    head, rows = stage_rows(m)
    (row,) = [r for r in rows if r[0] == "outcome"]
    assert row[head.index("median")] == human_duration(m.outcome_median_seconds)
    assert row[head.index("p90")] == human_duration(m.outcome_p90_seconds)
