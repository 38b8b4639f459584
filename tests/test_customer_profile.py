"""One view of the customer (#20, item 1): what the desk, the CLI and the API show about one person."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from itsmcore import Desk, UnknownCustomer
from itsmcore.cli import cli
from itsmcore.model import Trend


@pytest.fixture
def config(eagle5: Callable[..., Path]) -> Path:
    return eagle5()


@pytest.fixture
def desk(config: Path) -> Iterator[Desk]:
    with Desk.open(config, entry_points=False) as d:
        yield d


def test_the_profile_gathers_every_channel_and_what_the_customer_reads(desk: Desk) -> None:
    app = desk.submit(
        "value", "steve", "", service="expensatron", answers={"mobile_number": "+44 7700 900123", "mobile_os": "ios"}
    ).demand
    broken = desk.submit("failure", "steve", "CRM will not load the quotes page", service="crm", channel="email").demand
    desk.submit("failure", "tony", "Keyboard sticks", channel="portal")
    outage = desk.open_announcement("crm", "CRM is slow for everyone")
    desk.answer_survey(6, customer="steve", method="nps", channel="portal", mode="tracker")
    desk.answer_survey(9, customer="steve", method="nps", demand_id=app.id, comment="Quick")
    desk.review(app.id, "steve", 5, "Set up in a minute")

    p = desk.customer_profile("steve")
    assert (p.customer.name, p.manager.name if p.manager else None) == ("Steve Jones", "Scott Miller")
    assert "ci-phone-steve" in {ci.id for ci in p.items}
    assert "crm" in p.subscriptions
    assert [d.id for d in p.open_demands] == [broken.id], "Tony's demand is not Steve's"
    assert p.open_demands[0].status == desk.customer_status(broken.id).text
    assert [d.id for d in p.recent_demands] == [app.id], "done (even unconfirmed) is finished for the customer"
    assert p.channels == {"cli": 1, "email": 1}
    assert [a.id for a in p.announcements] == [outage.id]
    assert [(a.score, a.comment) for a in p.survey_answers] == [(9, "Quick"), (6, "")], "newest first"
    assert p.trend is Trend.BETTER
    assert [(r.rating, r.text) for r in p.reviews] == [(5, "Set up in a minute")]


def test_a_customer_with_nothing_yet_has_an_empty_profile(desk: Desk) -> None:
    p = desk.customer_profile("tony")
    assert (p.open_demands, p.recent_demands, p.survey_answers, p.reviews) == ((), (), (), ())
    assert p.trend is Trend.NONE and p.channels == {}
    with pytest.raises(UnknownCustomer):
        desk.customer_profile("nobody")


def test_the_trend_compares_answers_of_the_same_method(desk: Desk) -> None:
    desk.answer_survey(8, customer="steve", method="nps", mode="tracker")
    assert desk.customer_profile("steve").trend is Trend.FIRST
    desk.answer_survey(5, customer="steve", method="csat", mode="tracker")
    assert desk.customer_profile("steve").trend is Trend.FIRST, "a CSAT answer is not compared with NPS"
    desk.answer_survey(3, customer="steve", method="csat", mode="tracker")
    assert desk.customer_profile("steve").trend is Trend.WORSE
    desk.answer_survey(3, customer="steve", method="csat", mode="tracker")
    assert desk.customer_profile("steve").trend is Trend.SAME


def test_customer_show_prints_the_profile(config: Path, desk: Desk) -> None:
    broken = desk.submit("failure", "steve", "CRM will not load", service="crm", channel="email").demand
    runner = CliRunner()
    r = runner.invoke(cli, ["-c", str(config), "customer", "show", "steve", "--format", "json"])
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert shown["id"] == "steve" and shown["manager_name"] == "Scott Miller"
    assert [d["id"] for d in shown["open_demands"]] == [broken.id]
    assert shown["open_demands"][0]["status"] == desk.customer_status(broken.id).text
    assert shown["channels"] == {"email": 1} and shown["trend"] == "no answers"
    r = runner.invoke(cli, ["-c", str(config), "customer", "show", "steve"])
    assert r.exit_code == 0 and "open demands" in r.output and "Scott Miller (scott)" in r.output
    assert desk.customer_status(broken.id).sentence[:30] in r.output
    r = runner.invoke(cli, ["-c", str(config), "customer", "show", "stve"])
    assert r.exit_code == 1 and "did you mean 'steve'" in r.output
