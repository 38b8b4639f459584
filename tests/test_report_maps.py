"""Outside-in journey maps, as-is beside to-be, trends, the workshop pack, and the awkward inputs they must survive."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from itsmcore import Stage
from itsmcore.desk import Desk
from itsmcore.history import Clock
from itsmcore.reports import Scope, demand_link, experience_report, outside_in_report, trend_report
from itsmcore.reports.maps import map_page, trends_page
from itsmcore.reports.render import experience_html
from itsmcore.reports.workshop import write_workshop

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# the design has a "share" stage no journey reaches, and no "discover"
TO_BE = """
[journeys.smartphone]
stages = [
    { stage = "engage", within = "5m", effort = 0, channels = ["portal"] },
    { stage = "acknowledge" },
    { stage = "fulfil", within = "1d" },
    { stage = "outcome", within = "2d" },
    { stage = "share" },
]
"""


def itsm(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "itsmcore", "-c", str(config), *args], capture_output=True, text=True, timeout=300
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


def phone_request(desk: Desk, clock: Clock, customer: str, approval: timedelta, channel: str = "portal") -> int:
    did = desk.submit(
        "value", customer, "", service="smartphone", answers={"reason": "customer visits"}, channel=channel
    ).demand.id
    clock.now += approval
    desk.approve(did, "scott", "ok")
    for task in desk.tasks(demand_id=did):
        desk.finish_task(task.id)
    clock.now += timedelta(minutes=30)
    return did


def test_the_outside_in_map_places_what_customers_do_see_and_feel_on_their_stages(desk: Desk, clock: Clock) -> None:
    quick = phone_request(desk, clock, "steve", timedelta(hours=1))
    slow = phone_request(desk, clock, "tony", timedelta(days=4), channel="email")
    slower = phone_request(desk, clock, "steve", timedelta(days=5))
    desk.confirm_demand(slow, "tony", True)
    desk.answer_survey(2, customer="tony", demand_id=slow, comment="Nobody told me what was happening.")
    oi, gap_marks = outside_in_report(desk, Scope(service="smartphone"))
    assert oi.title == desk.get_service("smartphone").name and oi.as_is.journeys == 3
    engage = oi.stage(Stage.ENGAGE)
    assert engage is not None and {c.label for c in engage.channels} == {"portal", "email"}
    assert any(c.label == "asks" for c in engage.does), engage.does
    assert engage.sees and all(c.ids for c in engage.sees), "every sentence names demands behind it"
    fulfil = oi.stage(Stage.FULFIL)
    assert fulfil is not None and fulfil.median_seconds is not None
    # the one answer is placed where the slow journey lost its time, with the widest interval
    assert fulfil.feeling is not None and fulfil.feeling.n == 1 and fulfil.feeling.ids == (slow,)
    assert (fulfil.feeling.low, fulfil.feeling.high) == (-100.0, 100.0), "one answer: nothing known of spread"
    assert [c.text for c in fulfil.comments] == ["Nobody told me what was happening."]
    assert set(oi.stage(Stage.ENGAGE).ids) >= {quick, slow}  # type: ignore[union-attr]
    # the gaps: each sized, on both maps, the biggest first
    kinds = {(g.stage, g.kind) for g in gap_marks}
    assert (Stage.FULFIL, "slow stage") in kinds and (Stage.ENGAGE, "wrong channel") in kinds
    assert (Stage.ENGAGE, "effort") in kinds
    missing = [g for g in gap_marks if g.kind == "missing step"]
    assert [g.stage for g in missing] == [Stage.SHARE], "the design names a stage no journey reaches"
    assert [g.customers for g in gap_marks] == sorted((g.customers for g in gap_marks), reverse=True)
    slow_gap = next(g for g in gap_marks if g.kind == "slow stage")
    assert slow_gap.customers == 2 and slow_gap.ids == (slow, slower), "only the slow journeys are over the target"
    html = map_page(oi, desk.config.to_be["smartphone"], gap_marks, trend_report(desk, Scope()), demand_link(desk))
    for lane in ("What the customer", "What they see", "Touchpoints", "How it feels", "Pain points"):
        assert lane in html
    assert "Behind the" in html and "What to change first" in html and "missing step" in html
    assert f"/desk/demands/{slow}" in html and f'data-demands="{slow}"' in html
    assert html.count("<svg") >= 3 and "<script" not in html


def test_a_service_without_journeys_gets_a_map_that_says_so(desk: Desk, config: Path) -> None:
    oi, gap_marks = outside_in_report(desk, Scope(service="smartphone"))
    assert oi.empty and gap_marks == []
    html = map_page(oi, desk.config.to_be["smartphone"], gap_marks, trend_report(desk, Scope(service="smartphone")))
    as_is = html.split("<h2>To be")[0]
    assert "No journeys in this period" in as_is and "What the customer" not in as_is, "a sentence, not empty lanes"
    r = itsm(config, "report", "journeys", "--service", "smartphone", "--format", "html")
    assert r.returncode == 0 and "No journeys in this period" in r.stdout, r.stderr


def test_comments_with_markup_emoji_and_right_to_left_text_are_escaped_and_readable(
    desk: Desk, clock: Clock, tmp_path: Path
) -> None:
    did = phone_request(desk, clock, "tony", timedelta(days=3))
    desk.confirm_demand(did, "tony", True)
    words = '<script>alert("x")</script> 😡 الهاتف لم يصل بعد & call me on +44 7700 900456'
    desk.answer_survey(1, customer="tony", demand_id=did, comment=words)
    pack = write_workshop(desk, Scope(service="smartphone"), tmp_path / "pack", pdf=False)
    comments = (tmp_path / "pack" / "comments.html").read_text(encoding="utf-8")
    as_is = (tmp_path / "pack" / "as-is.html").read_text(encoding="utf-8")
    for page_text in (comments, as_is):
        assert "<script>" not in page_text and "&lt;script&gt;" in page_text
        assert "😡" in page_text and "الهاتف لم يصل بعد" in page_text
    assert "dir='auto'" in comments and "900456" not in comments, "the comments page is anonymised"
    assert [p.name for p in pack.pages] == ["as-is.html", "to-be.html", "trends.html", "comments.html"]
    assert pack.pdfs == () and pack.skipped


def test_trends_per_week_with_one_survey_answer_show_the_widest_interval(desk: Desk, clock: Clock) -> None:
    first = phone_request(desk, clock, "steve", timedelta(hours=2))
    desk.answer_survey(9, customer="steve", demand_id=first)
    clock.now += timedelta(days=8)
    phone_request(desk, clock, "steve", timedelta(days=2))
    tr = trend_report(desk, Scope(service="smartphone"), "week")
    assert tr.period == "week" and len(tr.buckets) == 2
    series = {s.key: s for s in tr.series}
    (nps,) = series["nps"].points
    assert (nps.value, nps.n, nps.low, nps.high) == (100.0, 1, -100.0, 100.0)
    assert [p.n for p in series["outcome_median"].points] == [1, 1]
    assert series["outcome_median"].points[1].value > series["outcome_median"].points[0].value  # type: ignore[operator]
    assert [p.value for p in series["better_than_last_time"].points] == [0.0], "the second phone took longer"
    assert set(series) >= {"failure_share", "self_service_share"}
    html = trends_page("smartphone", tr)
    assert html.count("<svg") == len(tr.series) and "n=1" in html
    monthly = trend_report(desk, Scope(), "month")
    assert monthly.buckets == ("2026-03",)


def test_the_command_line_writes_maps_trends_and_a_workshop_pack(config: Path, desk: Desk, clock: Clock) -> None:
    phone_request(desk, clock, "steve", timedelta(days=2))
    out = config.parent / "pack"
    r = itsm(config, "report", "workshop", "--service", "smartphone", "-o", str(out), "--no-pdf")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["as-is.html", "comments.html", "to-be.html", "trends.html"]
    assert r.stderr == "", "no progress bar when stderr is not a terminal"
    r = itsm(config, "report", "trends", "--format", "json")
    assert r.returncode == 0 and '"failure_share"' in r.stdout, r.stderr
    r = itsm(config, "report", "journeys", "--service", "smartphone", "--format", "json")
    assert r.returncode == 0 and '"outside_in"' in r.stdout and '"touchpoints"' in r.stdout, r.stderr
    r = itsm(config, "report", "workshop", "--service", "smartphon", "-o", str(out))
    assert r.returncode != 0 and "smartphone" in r.stderr, "an unknown service is named with a close match"


def test_five_hundred_services_make_pages_not_one_giant_svg(
    eagle5: Callable[..., Path], tmp_path: Path, clock: Clock
) -> None:
    services = "".join(f'\n[[services]]\nkey = "svc-{i:03d}"\nname = "Service {i}"\n' for i in range(500))
    config = eagle5(f"sqlite:///{tmp_path / 'many.db'}", services)
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        for i in range(500):
            desk.submit("failure", "steve", f"service {i} is broken", service=f"svc-{i:03d}", channel="phone")
        r = experience_report(desk, Scope(), top=5)
        html = experience_html(r)
        assert len(r.services) == 5 and len(re.findall(r"<svg", html)) < 40
    out = tmp_path / "maps"
    done = itsm(config, "report", "maps", "-o", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    pages = sorted(p.name for p in out.glob("service-*.html"))
    assert len(pages) == 500 and "500 service pages" in done.stdout
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count("<tr>") == 501 and "<svg" not in index
