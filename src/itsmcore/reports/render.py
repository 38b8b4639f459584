"""Reports as a terminal table (rich), CSV, JSON, or one standalone HTML page with an SVG journey map.

The HTML needs no network and no JavaScript: styles are inline, the journey map is
an SVG drawn here, and every value from the data is escaped.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from rich.console import Console
from rich.markup import escape as escape_markup
from rich.table import Table

from . import ExperienceReport
from .consistency import Consistency
from .consistency import as_dicts as consistency_dicts
from .failure import CATEGORIES, FailureDemand
from .failure import as_dicts as failure_dicts
from .journeys import Gap, JourneyMap, human_duration
from .journeys import as_dict as journey_dict
from .reviews import ReviewRow
from .reviews import as_dicts as review_dicts
from .service_levels import ServiceLevelReport
from .surveys import Detractor, SurveyRow
from .surveys import as_dicts as survey_dicts
from .trends import as_dict as trend_dict

EMPTY = "No journeys in this period."


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    rows = list(rows)
    out = io.StringIO()
    if not rows:
        return ""
    fields = list(rows[0])
    w = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in r.items()})
    return out.getvalue()


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


# ---------------------------------------------------------------------------- rows (both formats)

Rows = tuple[list[str], list[tuple[str, ...]]]


def stage_rows(m: JourneyMap) -> Rows:
    head = ["stage", "moment of truth", "reached", "median", "p90", "effort", "touchpoints", "channels", "dropped"]
    return head, [
        (
            str(s.stage),
            str(s.stage.moment),
            f"{s.share:.0%} ({s.reached:,})",
            human_duration(s.median_seconds),
            human_duration(s.p90_seconds),
            f"{s.effort:.1f}",
            f"{s.touchpoints:.1f}",
            ", ".join(f"{c} {n:,}" for c, n in list(s.channels.items())[:3]),
            f"{s.dropped:,}",
        )
        for s in m.stages
    ]


def score_rows(rows: Sequence[SurveyRow]) -> Rows:
    return ["method", "by", "group", "score", "95% interval", "answers"], [
        (
            r.method,
            r.dimension,
            r.group,
            _fmt(r.score.value),
            f"{_fmt(r.score.low)} to {_fmt(r.score.high)}" if r.score.low is not None else "-",
            f"{r.score.n:,}",
        )
        for r in rows
    ]


def review_rows(reviews: Sequence[ReviewRow], surveys: Sequence[SurveyRow] = ()) -> Rows:
    """Per service, the reviews customers wrote for colleagues beside the survey score they gave IT."""
    scores: dict[str, list[str]] = {}
    for s in surveys:
        if s.dimension == "service":
            scores.setdefault(s.group, []).append(f"{s.method.upper()} {_fmt(s.score.value)} (n={s.score.n:,})")
    return ["service", "average rating", "reviews", "hidden by the desk", "survey score"], [
        (
            r.service_key,
            f"{_fmt(r.average)} of 5" if r.average is not None else "-",
            f"{r.count:,}",
            f"{r.hidden:,}",
            ", ".join(scores.get(r.service_key, [])) or "-",
        )
        for r in reviews
    ]


def category_rows(fd: FailureDemand) -> Rows:
    return ["category", "failure demand", "contacts", "share", "means"], [
        (r["id"], "yes" if r["failure_demand"] else "no", f"{r['contacts']:,}", f"{r['share']:.0%}", r["means"])
        for r in failure_dicts(fd)
    ]


def pair_rows(c: Consistency) -> Rows:
    return ["customer", "service", "kind", "last time", "this time", "effort", "score", "why"], [
        (
            p.customer_id,
            p.service_key,
            p.kind,
            f"#{p.previous_id}: {human_duration(p.previous_seconds)}",
            f"#{p.current_id}: {human_duration(p.current_seconds)}",
            f"{p.previous_effort} then {p.current_effort}",
            f"{_fmt(p.previous_score, 2)} then {_fmt(p.current_score, 2)}",
            p.why,
        )
        for p in c.pairs
    ]


def _print_table(console: Console, rows: Rows) -> None:
    head, body = rows
    table = Table(*head)
    for row in body:
        table.add_row(*(escape_markup(cell) for cell in row))  # data, not rich markup
    console.print(table)


# ---------------------------------------------------------------------------- terminal


def journey_table(console: Console, m: JourneyMap, gap_list: Sequence[Gap] = ()) -> None:
    if m.empty:
        console.print(f"{EMPTY} ({m.scope.describe()})")
        return
    console.print(
        f"[bold]Journey map[/bold]: {m.scope.describe()}: {m.journeys:,} journeys; time to outcome median "
        f"{human_duration(m.outcome_median_seconds)}, p90 {human_duration(m.outcome_p90_seconds)}; "
        f"effort {m.effort_per_journey:.1f}, contacts {m.contacts_per_journey:.2f} per journey; "
        f"self-service {m.self_service_share:.0%}"
    )
    _print_table(console, stage_rows(m))
    for g in gap_list:
        console.print(f"  gap at {g.stage} ({g.kind}): {g.detail}")


def survey_table(console: Console, rows: Sequence[SurveyRow], low: Sequence[Detractor]) -> None:
    if not rows:
        console.print("No survey answers in this period.")
        return
    _print_table(console, score_rows(rows))
    for d in low:
        console.print(f"  {d.method} {d.score} from {d.customer_id} on #{d.demand_id}: {d.comment!r}")


def failure_table(console: Console, fd: FailureDemand) -> None:
    if fd.empty:
        console.print(f"{EMPTY} ({fd.scope.describe()})")
        return
    console.print(
        f"[bold]Failure demand[/bold]: {fd.failure:,} of {fd.contacts:,} contacts ({fd.share:.0%}); "
        f"{fd.absorbed:,} outage contacts absorbed by an announcement"
    )
    _print_table(console, category_rows(fd))


def consistency_table(console: Console, c: Consistency) -> None:
    if c.empty:
        console.print(f"No repeat experiences in this period ({c.scope.describe()}).")
        return
    console.print(
        f"[bold]Better than last time[/bold]: {c.as_good_share:.0%} of {c.compared:,} experiences were at least as good "
        f"as the customer's previous one; {c.worse:,} were worse"
    )
    _print_table(console, pair_rows(c))


def experience_terminal(console: Console, r: ExperienceReport) -> None:
    console.print(f"[bold]Experience report[/bold]: {escape_markup(r.deployment)}, {r.scope.describe()}")
    if r.empty:
        console.print(EMPTY)
        return
    journey_table(console, r.overall)
    for _key, m, g in r.services:
        journey_table(console, m, g)
    survey_table(console, [s for s in r.surveys if s.dimension in ("overall", "service")], r.detractors)
    if r.reviews:
        console.print("[bold]Reviews by service[/bold] (what customers told colleagues)")
        _print_table(console, review_rows(r.reviews, r.surveys))
    failure_table(console, r.failure)
    consistency_table(console, r.consistency)


# ---------------------------------------------------------------------------- HTML

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;margin:2rem auto;max-width:1100px;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
.sub{color:#555}.kpis{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0}
.kpi{border:1px solid #ccc;border-radius:6px;padding:.6rem 1rem;min-width:10rem}
.kpi b{display:block;font-size:1.5rem}.kpi span{color:#555;font-size:.85rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}th,td{border-bottom:1px solid #e3e3e3;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}.gap{color:#8a1c1c}.num{text-align:right}svg{max-width:100%;height:auto}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1rem}.small{font-size:.85rem;color:#444}
"""


def _svg_map(m: JourneyMap) -> str:
    """The journey as boxes in stage order: width by reach, colour by moment of truth, time under each."""
    if m.empty:
        return ""
    colours = {"zero": "#6c8ebf", "first": "#82b366", "second": "#d6b656", "ultimate": "#b85450"}
    # a margin above the tallest bar, so its "100%" label stays inside the viewBox
    box_w, gap_w, top = 120, 18, 20
    h = 150 + top
    width = len(m.stages) * (box_w + gap_w) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {h}" role="img" '
        f'aria-label="Journey map: {escape(m.scope.describe())}">'
    ]
    for i, s in enumerate(m.stages):
        x = 10 + i * (box_w + gap_w)
        bar = max(4, int(80 * s.share))
        colour = colours.get(str(s.stage.moment), "#999")
        parts.append(f'<rect x="{x}" y="{top + 90 - bar}" width="{box_w}" height="{bar}" rx="4" fill="{colour}"/>')
        parts.append(
            f'<text x="{x + box_w / 2}" y="{top + 86 - bar}" text-anchor="middle" font-size="12">{s.share:.0%}</text>'
        )
        parts.append(
            f'<text x="{x + box_w / 2}" y="{top + 108}" text-anchor="middle" font-size="13" font-weight="bold">'
            f"{escape(str(s.stage))}</text>"
        )
        parts.append(
            f'<text x="{x + box_w / 2}" y="{top + 124}" text-anchor="middle" font-size="11">median '
            f"{escape(human_duration(s.median_seconds))}</text>"
        )
        parts.append(
            f'<text x="{x + box_w / 2}" y="{top + 139}" text-anchor="middle" font-size="11">effort {s.effort:.1f}</text>'
        )
        if i < len(m.stages) - 1:
            parts.append(
                f'<path d="M{x + box_w + 3} {top + 70} l{gap_w - 6} 0" stroke="#555" stroke-width="2" marker-end="url(#a)"/>'
            )
    parts.insert(
        1,
        '<defs><marker id="a" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto">'
        '<path d="M0,0 L6,3 L0,6 z" fill="#555"/></marker></defs>',
    )
    parts.append("</svg>")
    return "".join(parts)


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = ["<table><thead><tr>", *[f"<th>{escape(h)}</th>" for h in head], "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _journey_html(m: JourneyMap, gap_list: Sequence[Gap] = ()) -> str:
    if m.empty:
        return f"<p>{EMPTY}</p>"
    out = [
        f"<p class='sub'>{m.journeys:,} journeys; time to outcome median {human_duration(m.outcome_median_seconds)},"
        f" p90 {human_duration(m.outcome_p90_seconds)}; effort {m.effort_per_journey:.1f} and "
        f"{m.contacts_per_journey:.2f} contacts per journey; self-service {m.self_service_share:.0%}.</p>",
        _svg_map(m),
        _table(*stage_rows(m)),
    ]
    if gap_list:
        out.append("<p><b>Against the designed journey:</b></p><ul>")
        out += [f"<li class='gap'>{escape(str(g.stage))} ({escape(g.kind)}): {escape(g.detail)}</li>" for g in gap_list]
        out.append("</ul>")
    return "".join(out)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def journey_html(m: JourneyMap, gap_list: Sequence[Gap] = ()) -> str:
    return _page(
        f"Journey map: {m.scope.describe()}",
        f"<h1>Journey map</h1><p>{escape(m.scope.describe())}</p>" + _journey_html(m, gap_list),
    )


def _surveys_html(rows: Sequence[SurveyRow], low: Sequence[Detractor]) -> str:
    if not rows:
        return "<p>No survey answers in this period.</p>"
    out = [_table(*score_rows(rows))]
    if low:
        out.append("<h3>In their own words: low scores beside their journeys</h3>")
        for d in low:
            steps = "".join(f"<li>{escape(stage)}: {escape(text)}</li>" for stage, text in d.journey[:8])
            out.append(
                f"<div class='cols'><div><b>{escape(d.method.upper())} {d.score}</b> from {escape(d.customer_id)}"
                f" on #{d.demand_id} ({escape(d.service_key or '')}, outcome in {human_duration(d.outcome_seconds)})"
                f"<p>&ldquo;{escape(d.comment)}&rdquo;</p></div><div class='small'><ol>{steps}</ol></div></div>"
            )
    return "".join(out)


def surveys_html(rows: Sequence[SurveyRow], low: Sequence[Detractor]) -> str:
    return _page("Survey results", "<h1>Survey results</h1>" + _surveys_html(rows, low))


def _failure_html(fd: FailureDemand) -> str:
    if fd.empty:
        return f"<p>{EMPTY}</p>"
    return (
        f"<p>{fd.failure:,} of {fd.contacts:,} contacts ({fd.share:.0%}) were failure demand; "
        f"{fd.absorbed:,} outage contacts came as &ldquo;This affects me&rdquo; instead of a call.</p>"
        + _table(*category_rows(fd))
    )


def failure_html(fd: FailureDemand) -> str:
    return _page("Failure demand", "<h1>Failure demand</h1>" + _failure_html(fd))


def _consistency_html(c: Consistency) -> str:
    if c.empty:
        return "<p>No repeat experiences in this period.</p>"
    return (
        f"<p>{c.as_good_share:.0%} of {c.compared:,} experiences were at least as good as the customer's previous one;"
        f" {c.worse:,} were worse. The worst:</p>" + _table(*pair_rows(c))
    )


def consistency_html(c: Consistency) -> str:
    return _page("Better than last time", "<h1>Better than last time</h1>" + _consistency_html(c))


def experience_html(r: ExperienceReport) -> str:
    title = f"Experience report: {r.deployment}"
    if r.empty:
        return _page(title, f"<h1>{escape(title)}</h1><p>{escape(r.scope.describe())}</p><p>{EMPTY}</p>")
    overall = {(s.method, s.group): s.score for s in r.surveys if s.dimension == "overall"}
    kpis = [
        (f"{r.overall.journeys:,}", "journeys"),
        (human_duration(r.overall.outcome_median_seconds), "median time to outcome"),
        (f"{r.failure.share:.0%}", "of contacts were failure demand"),
        (f"{r.consistency.as_good_share:.0%}" if not r.consistency.empty else "-", "as good as last time or better"),
    ]
    for (method, _g), score in sorted(overall.items()):
        kpis.append(
            (_fmt(score.value), f"{method.upper()} (n={score.n:,}, 95% {_fmt(score.low)} to {_fmt(score.high)})")
        )
    body = [
        f"<h1>{escape(title)}</h1><p class='sub'>{escape(r.scope.describe())}</p><div class='kpis'>",
        *[f"<div class='kpi'><b>{escape(v)}</b><span>{escape(label)}</span></div>" for v, label in kpis],
        "</div><h2>All journeys</h2>",
        _journey_html(r.overall),
    ]
    for key, m, g in r.services:
        body += [f"<h2>Journey map: {escape(key)}</h2>", _journey_html(m, g)]
    body += [
        "<h2>What customers say</h2>",
        _surveys_html([s for s in r.surveys if s.dimension in ("overall", "service", "channel", "mode")], r.detractors),
        "<h2>Reviews by service</h2>",
        _table(*review_rows(r.reviews, r.surveys)) if r.reviews else "<p>No reviews in this period.</p>",
        "<h2>Failure demand</h2>",
        _failure_html(r.failure),
        "<h2>Better than last time?</h2>",
        _consistency_html(r.consistency),
    ]
    if r.trends is not None:
        from .maps import trends_section

        body += [f"<h2>Trends, per {escape(r.trends.period)}</h2>", trends_section(r.trends)]
    return _page(title, "".join(body))


def experience_dict(r: ExperienceReport) -> dict[str, Any]:
    return {
        "id": r.deployment,
        "scope": r.scope.describe(),
        "overall": journey_dict(r.overall),
        "services": [journey_dict(m, g) | {"service": key} for key, m, g in r.services],
        "surveys": survey_dicts(list(r.surveys)),
        "reviews": review_dicts(list(r.reviews)),
        "failure_demand": failure_dicts(r.failure),
        "failure_share": r.failure.share,
        "trends": trend_dict(r.trends) if r.trends is not None else None,
        "consistency": {
            "compared": r.consistency.compared,
            "worse": r.consistency.worse,
            "as_good_share": r.consistency.as_good_share,
            "worst": consistency_dicts(r.consistency),
        },
    }


__all__ = [
    "CATEGORIES",
    "consistency_html",
    "consistency_table",
    "experience_dict",
    "experience_html",
    "experience_terminal",
    "failure_html",
    "failure_table",
    "journey_html",
    "journey_table",
    "review_rows",
    "survey_table",
    "surveys_html",
    "to_csv",
    "to_json",
]


# ---------------------------------------------------------------------------- service levels


def service_level_rows(r: ServiceLevelReport) -> Rows:
    head = ["by", "value", "metric", "clocks", "met", "breached", "open", "attainment"]
    body: list[tuple[str, ...]] = [
        (
            row.dimension,
            row.value,
            row.metric,
            str(row.clocks),
            str(row.met),
            str(row.breached),
            str(row.open),
            "-" if row.attainment is None else f"{row.attainment:.0%}",
        )
        for row in r.rows
    ]
    return head, body


def _breach_rows(r: ServiceLevelReport) -> Rows:
    head = ["demand", "metric", "service", "team", "priority", "rule", "breached at"]
    body: list[tuple[str, ...]] = [
        (f"#{b['demand']}", b["metric"], b["service"], b["team"], str(b["priority"]), b["rule"], b["breached_at"])
        for b in r.breaches
    ]
    return head, body


def service_level_table(console: Console, r: ServiceLevelReport) -> None:
    console.print(f"Service levels: {r.scope.describe()}")
    if r.empty:
        console.print("No service-level clocks in this period.")
        return
    _print_table(console, service_level_rows(r))
    if r.breaches:
        console.print("Breaches, newest first:")
        _print_table(console, _breach_rows(r))


def service_level_html(r: ServiceLevelReport) -> str:
    body = f"<h1>Service levels</h1><p>{escape(r.scope.describe())}</p>"
    if r.empty:
        body += "<p>No service-level clocks in this period.</p>"
    else:
        body += _table(*service_level_rows(r))
        if r.breaches:
            body += "<h2>Breaches, newest first</h2>" + _table(*_breach_rows(r))
    return _page(f"Service levels: {r.scope.describe()}", body)
