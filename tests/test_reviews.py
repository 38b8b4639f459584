"""Reviews, the ultimate moment of truth: customers tell colleagues how a service was, through the desk API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from itsmcore import (
    Conflict,
    DemandState,
    Desk,
    InvalidAnswers,
    InvalidInput,
    NotFound,
    Stage,
)
from itsmcore.reports import Scope, experience_report
from itsmcore.reports.render import experience_dict, experience_html
from itsmcore.testing import HookRecorder, ObserverContract


@pytest.fixture
def desk(eagle5: Callable[..., Path], itsm_hook_recorder: HookRecorder) -> Iterator[Desk]:
    with Desk.open(eagle5(), entry_points=False, plugins=[itsm_hook_recorder]) as d:
        yield d


def expensatron(desk: Desk, customer: str = "steve", mobile: str = "+44 7700 900123", os: str = "ios") -> int:
    """A fulfilled Expensatron request of ``customer``'s (the Eagle5 plan runs inline)."""
    demand = desk.submit(
        "value", customer, "", service="expensatron", answers={"mobile_number": mobile, "mobile_os": os}
    ).demand
    assert desk.get(demand.id).state is DemandState.FULFILLED, "the journey must work before it can be reviewed"
    return demand.id


def test_a_review_is_a_share_event_and_shapes_the_service_summary(desk: Desk, itsm_hook_recorder: HookRecorder) -> None:
    did = expensatron(desk)
    review = desk.review(did, "steve", 4, "  Quick to set up; the app is fine.  ")
    assert (review.rating, review.text, review.author, review.shown_as) == (
        4,
        "Quick to set up; the app is fine.",
        "Steve Jones",
        "Steve Jones",
    )
    last = desk.journey(did)[-1]
    assert (last.stage, last.kind, last.actor) == (Stage.SHARE, "review", "customer")
    assert desk.get(did).stage is Stage.SHARE and desk.get(did).state is DemandState.FULFILLED

    tony = expensatron(desk, "tony", "+44 7700 900456", "android")
    desk.review(tony, "tony", 5, anonymous=True)
    summary = desk.review_summary("expensatron")
    assert (summary.count, summary.average) == (2, 4.5)
    assert [r.shown_as for r in summary.recent] == ["a colleague", "Steve Jones"], "newest first, Tony unnamed"
    assert summary.recent[0].author == "Tony Stark", "the desk still sees who wrote it"
    assert desk.review_summaries(["expensatron", "crm"])["crm"].count == 0
    assert desk.review_of(tony) is not None and desk.review_of(tony).anonymous  # type: ignore[union-attr]
    ObserverContract.assert_complete(desk, itsm_hook_recorder)


def test_a_closed_demand_can_be_reviewed_once(desk: Desk) -> None:
    did = expensatron(desk)
    desk.confirm_demand(did, "steve", True)
    assert desk.get(did).state is DemandState.CLOSED
    desk.review(did, "steve", 5)
    with pytest.raises(Conflict, match="already reviewed"):
        desk.review(did, "steve", 1, "changed my mind")
    assert desk.review_summary("expensatron").count == 1


def test_hiding_keeps_the_review_for_the_desk_only(desk: Desk, itsm_hook_recorder: HookRecorder) -> None:
    did = expensatron(desk)
    review = desk.review(did, "steve", 1, "Patrick is useless")
    with pytest.raises(InvalidAnswers, match="reason"):
        desk.hide_review(review.id, "patrick", "  ")
    hidden = desk.hide_review(review.id, "patrick", "names a colleague")
    assert (hidden.hidden, hidden.hidden_by, hidden.hidden_reason) == (True, "patrick", "names a colleague")
    assert desk.reviews("expensatron") == []
    assert desk.review_summary("expensatron").count == 0
    assert [r.hidden_reason for r in desk.reviews("expensatron", include_hidden=True)] == ["names a colleague"]
    assert desk.journey(did)[-1].kind == "review_hidden"
    with pytest.raises(Conflict, match="hidden already"):
        desk.hide_review(review.id, "patrick", "again")
    ObserverContract.assert_complete(desk, itsm_hook_recorder)


def test_only_the_customer_of_a_fulfilled_value_demand_may_review_it(desk: Desk) -> None:
    did = expensatron(desk)
    with pytest.raises(NotFound):
        desk.review(did, "tony", 5, "not mine")
    with pytest.raises(NotFound):
        desk.review(999_999, "steve", 5)
    waiting = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "customer visits"}).demand
    assert desk.get(waiting.id).state is DemandState.AWAITING_APPROVAL
    with pytest.raises(Conflict, match="once you have it"):
        desk.review(waiting.id, "steve", 5)
    incident = desk.submit("failure", "steve", "CRM won't load", service="crm").demand
    with pytest.raises(Conflict):
        desk.review(incident.id, "steve", 5)
    assert desk.review_of(did) is None and desk.review_of(waiting.id) is None


@pytest.mark.parametrize("rating", [0, 6, -1, True])
def test_a_rating_outside_one_to_five_is_refused(desk: Desk, rating: int) -> None:
    did = expensatron(desk)
    with pytest.raises(InvalidAnswers, match="from 1 to 5"):
        desk.review(did, "steve", rating)
    assert desk.review_of(did) is None


def test_a_review_over_the_limit_is_refused_naming_the_limit(desk: Desk) -> None:
    did = expensatron(desk)
    with pytest.raises(InvalidInput, match="at most 1,000 characters; this one has 10,000"):
        desk.review(did, "steve", 3, "x" * 10_000)
    desk.review(did, "steve", 3, "x" * 1_000)


def test_the_limit_is_configurable(eagle5: Callable[..., Path]) -> None:
    with Desk.open(eagle5(extra="\n[survey_rules]\nreview_max_chars = 20\n"), entry_points=False) as desk:
        did = expensatron(desk)
        with pytest.raises(InvalidAnswers, match="at most 20 characters"):
            desk.review(did, "steve", 3, "far too long for this deployment")


def test_html_is_stored_as_typed(desk: Desk) -> None:
    did = expensatron(desk)
    desk.review(did, "steve", 2, "<script>alert(1)</script>")
    assert desk.reviews("expensatron")[0].text == "<script>alert(1)</script>"


def test_the_experience_report_shows_reviews_per_service(desk: Desk) -> None:
    desk.review(expensatron(desk), "steve", 4, "<b>good</b>")
    desk.review(expensatron(desk, "tony", "+44 7700 900456", "android"), "tony", 2)
    report = experience_report(desk, Scope())
    assert [(r.service_key, r.average, r.count) for r in report.reviews] == [("expensatron", 3.0, 2)]
    html = experience_html(report)
    assert "Reviews by service" in html
    assert experience_dict(report)["reviews"] == [{"service": "expensatron", "average": 3.0, "count": 2, "hidden": 0}]
