"""The outside-in journey map, the to-be map beside it, trend charts and the workshop pages, as HTML with SVG.

No JavaScript: every chart is an SVG drawn here, every value from the data is escaped,
styles are inline, and pages print on A3 landscape (one map per sheet). Every figure is
a link to a demand behind it and carries the ids of a few more (``data-demands``), so a
reader, or a program, can open the journeys it counts.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from html import escape

from ..model import Stage
from ..settings import ToBeJourney
from .journeys import human_duration
from .outside_in import Comment, Count, GapMark, OutsideIn, StageView, anonymise, to_be_stages
from .trends import Series, Trends

Link = Callable[[int], str]

MOMENTS = {"zero": "#6c8ebf", "first": "#82b366", "second": "#d6b656", "ultimate": "#b85450"}
MOMENT_NAMES = {
    "zero": "Zero: before contact",
    "first": "First: the first contact",
    "second": "Second: delivery",
    "ultimate": "Ultimate: sharing",
}
NO_JOURNEYS = "No journeys in this period"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Arabic","Noto Sans Hebrew",sans-serif;color:#1a1a1a;margin:1.5rem auto;max-width:1700px;padding:0 1rem}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #ddd}
.sub{color:#555}.map svg{width:100%;height:auto;display:block}.gap{color:#8a1c1c}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}th,td{border-bottom:1px solid #e3e3e3;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}.charts{display:flex;flex-wrap:wrap;gap:.8rem}.charts figure{margin:0;width:320px}
.charts figcaption{font-size:.8rem;color:#444}.comment{unicode-bidi:plaintext;margin:.3rem 0;padding:.3rem .6rem;border-left:3px solid #ccc}
.comment.low{border-color:#b85450}blockquote{margin:0}.ids a{margin-right:.3rem}
nav.pages a{margin-right:.8rem}
section.sheet{break-before:page;page-break-before:always}section.sheet:first-of-type{break-before:auto;page-break-before:auto}
@page{size:A3 landscape;margin:10mm}
@media print{body{margin:0;max-width:none;font-size:11pt}a{color:inherit;text-decoration:none}nav.pages{display:none}}
"""


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def _ids_attr(ids: Sequence[int]) -> str:
    return " ".join(str(i) for i in ids)


def _linked(inner: str, ids: Sequence[int], link: Link | None) -> str:
    """An SVG element wrapped in a link to its first demand, with every id in data-demands and a tooltip."""
    if not ids:
        return inner
    tip = "demands " + ", ".join(f"#{i}" for i in ids)
    href = f' href="{escape(link(ids[0]))}"' if link is not None else ""
    return f'<a{href} data-demands="{_ids_attr(ids)}"><title>{escape(tip)}</title>{inner}</a>'


# ---------------------------------------------------------------------------- the map


class _Lane:
    """One row of the map: a title and, per column, lines of text (each with the ids behind it)."""

    def __init__(self, key: str, title: str):
        self.key = key
        self.title = title
        self.cells: dict[Stage, list[tuple[str, tuple[int, ...], str]]] = {}

    def add(self, stage: Stage, text: str, ids: Sequence[int] = (), style: str = "") -> None:
        self.cells.setdefault(stage, []).append((text, tuple(ids), style))


COL_W = 200
LABEL_W = 128
LINE_H = 14
CHARS = 31  # characters per line at 11px in a column
CURVE_H = 96


def _wrap(text: str, width: int = CHARS, lines: int = 3) -> list[str]:
    out = textwrap.wrap(text, width=width, break_long_words=True, break_on_hyphens=False) or [""]
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    return out


def _share(n: int, total: int) -> str:
    return f"{n / total:.0%}" if total else "-"


def _as_is_lanes(oi: OutsideIn) -> list[_Lane]:
    does, sees, touch, feels, pains, behind = (
        _Lane("does", "What the customer does"),
        _Lane("sees", "What they see"),
        _Lane("touchpoints", "Touchpoints"),
        _Lane("feels", "How it feels"),
        _Lane("pain", "Pain points"),
        _Lane("behind", "Behind the scenes"),
    )
    for v in oi.stages:
        s = v.stage
        for c in v.does:
            does.add(s, f"{c.label} ({c.n:,})", c.ids)
        does.add(s, f"effort {v.effort:.1f} per journey", v.ids, "muted")
        for c in v.sees:
            sees.add(s, f"“{c.label}” ({c.n:,})", c.ids)
        if not v.sees:
            sees.add(s, "nothing shown to the customer", (), "muted")
        total = v.channel_total
        for c in v.channels[:4]:
            touch.add(s, f"{c.label} {_share(c.n, total)} ({c.n:,})", v.ids)
        if v.feeling is not None:
            f = v.feeling
            feels.add(s, f"{f.label} {_num(f.value)} n={f.n:,}", f.ids, "bold")
            feels.add(s, f"95% {_num(f.low)} to {_num(f.high)}", f.ids, "muted")
        else:
            feels.add(s, "no survey answers placed here", (), "muted")
        feels.add(s, f"repeat contacts {v.repeats:,}", v.ids if v.repeats else (), "warn" if v.repeats else "")
        for cm in v.comments:
            pains.add(
                s, f"{cm.method.upper()} {cm.score}: “{cm.text}”", (cm.demand_id,) if cm.demand_id else (), "warn"
            )
        for c in v.causes:
            pains.add(s, f"{c.label} ({c.n:,})", c.ids, "warn")
        if v.dropped:
            pains.add(s, f"{v.dropped:,} still open, stopped here", v.ids, "warn")
        for c in v.steps:
            behind.add(s, f"{c.label} ({c.n:,})", c.ids)
        for c in v.actors[:2]:
            behind.add(s, f"by {c.label} ({c.n:,})", c.ids, "muted")
        behind.add(
            s,
            f"waiting: median {human_duration(v.median_seconds)}, p90 {human_duration(v.p90_seconds)}",
            v.ids,
            "bold",
        )
    return [does, sees, touch, feels, pains, behind]


def _to_be_lanes(to_be: ToBeJourney, reached: set[Stage]) -> list[_Lane]:
    does, sees, touch, feels, pains, behind = (
        _Lane("does", "What the customer does"),
        _Lane("sees", "What they see"),
        _Lane("touchpoints", "Touchpoints"),
        _Lane("feels", "How it feels"),
        _Lane("pain", "Pain points"),
        _Lane("behind", "Behind the scenes"),
    )
    for t in to_be.stages:
        s = t.stage
        does.add(s, f"effort at most {t.effort}" if t.effort is not None else "effort: no target", (), "")
        sees.add(s, "as designed for this stage", (), "muted")
        if t.channels:
            for c in t.channels:
                touch.add(s, f"{c} (designed)")
        else:
            touch.add(s, "any channel", (), "muted")
        feels.add(s, "effortless" if t.effort in (0, 1) else "no target" if t.effort is None else f"effort {t.effort}")
        pains.add(s, "none by design", (), "muted")
        behind.add(s, f"within {t.within}" if t.within else "no time target", (), "bold")
        if s not in reached:
            pains.add(s, "no journey reaches this yet", (), "warn")
    return [does, sees, touch, feels, pains, behind]


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}"


def _text(x: float, y: float, line: str, style: str, size: int = 11) -> str:
    weight = ' font-weight="bold"' if style == "bold" else ""
    fill = {"muted": "#666", "warn": "#8a1c1c"}.get(style, "#1a1a1a")
    return f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" fill="{fill}"{weight}>{escape(line)}</text>'


def map_svg(
    title: str,
    columns: Sequence[Stage],
    lanes: Sequence[_Lane],
    *,
    heads: dict[Stage, tuple[str, tuple[int, ...]]] | None = None,
    absent: str = "",
    gap_marks: Sequence[GapMark] = (),
    curve: dict[Stage, tuple[float | None, float | None, float | None, int, tuple[int, ...]]] | None = None,
    scale: tuple[float | None, float | None] = (None, None),
    link: Link | None = None,
) -> str:
    """One journey map: columns of stages grouped by moment of truth, a row per lane, gaps marked in red.

    Every text is wrapped to its column and every lane is as tall as its tallest cell, so
    nothing leaves the viewBox; ``curve`` draws the perception curve across the feels lane.
    """
    heads = heads or {}
    width = LABEL_W + COL_W * len(columns) + 10
    out: list[str] = []
    y = 8
    # moments of truth band
    band = 22
    i = 0
    while i < len(columns):
        moment = str(columns[i].moment)
        j = i
        while j < len(columns) and str(columns[j].moment) == moment:
            j += 1
        x = LABEL_W + i * COL_W
        w = (j - i) * COL_W - 4
        out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{band}" rx="3" fill="{MOMENTS.get(moment, "#999")}"/>')
        label = MOMENT_NAMES.get(moment, moment)
        label = _wrap(label, max(6, int(w / 6.6)), 1)[0]
        out.append(
            f'<text x="{x + 6}" y="{y + 15}" font-size="11" fill="#fff" font-weight="bold">{escape(label)}</text>'
        )
        i = j
    y += band + 6
    # stage headers
    out.append(_text(8, y + 16, "Stage", "bold", 12))
    marks: dict[Stage, list[GapMark]] = {}
    for g in gap_marks:
        marks.setdefault(g.stage, []).append(g)
    for k, stage in enumerate(columns):
        x = LABEL_W + k * COL_W
        out.append(_text(x + 6, y + 16, str(stage), "bold", 14))
        head, ids = heads.get(stage, (absent, ()))
        style = "warn" if head == absent else "muted"
        out.append(_linked(_text(x + 6, y + 32, _wrap(head)[0], style), ids, link))
    y += 42
    # gaps lane (both maps)
    if gap_marks:
        lines = max(len(v) for v in marks.values())
        h = max(1, lines) * LINE_H * 2 + 8
        out.append(f'<rect x="4" y="{y}" width="{width - 8}" height="{h}" fill="#fbeaea"/>')
        out.append(_text(8, y + 16, "Gaps", "bold"))
        for k, stage in enumerate(columns):
            x = LABEL_W + k * COL_W
            yy = y + 14
            for g in marks.get(stage, []):
                for line in _wrap(f"{g.kind}: {g.size}; {g.customers:,} journeys", CHARS, 2):
                    out.append(_linked(_text(x + 6, yy, line, "warn"), g.ids, link))
                    yy += LINE_H
            if stage in marks:
                out.append(
                    f'<rect x="{x + 1}" y="{band + 12}" width="{COL_W - 6}" height="{y + h - band - 12}" fill="none" '
                    'stroke="#b85450" stroke-width="2" stroke-dasharray="6 3" rx="4"/>'
                )
        y += h + 4
    for lane in lanes:
        cells: dict[Stage, list[tuple[str, tuple[int, ...], str]]] = {}
        for stage in columns:
            wrapped = []
            for text, ids, style in lane.cells.get(stage, []):
                for line in _wrap(text):
                    wrapped.append((line, ids, style))
            cells[stage] = wrapped
        title_lines = _wrap(lane.title, 18, 2)
        lines = max([len(c) for c in cells.values()] + [len(title_lines)])
        extra = CURVE_H if lane.key == "feels" and curve else 0
        h = extra + lines * LINE_H + 10
        out.append(f'<line x1="4" y1="{y}" x2="{width - 4}" y2="{y}" stroke="#ccc"/>')
        for n, line in enumerate(title_lines):
            out.append(_text(8, y + 16 + n * LINE_H, line, "bold"))
        if extra and curve is not None:
            out.append(_curve(columns, curve, scale, y + 6, extra - 12, link))
        for k, stage in enumerate(columns):
            x = LABEL_W + k * COL_W
            for n, (line, ids, style) in enumerate(cells[stage]):
                out.append(_linked(_text(x + 6, y + extra + 16 + n * LINE_H, line, style), ids, link))
        y += h
    height = y + 8
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif">'
        + "".join(out)
        + "</svg>"
    )


def _curve(
    columns: Sequence[Stage],
    curve: dict[Stage, tuple[float | None, float | None, float | None, int, tuple[int, ...]]],
    scale: tuple[float | None, float | None],
    top: float,
    height: float,
    link: Link | None,
) -> str:
    """The perception curve: the score placed on each stage, its interval as a bar, the points joined."""
    known = [v for p in curve.values() for v in p[:3] if v is not None]
    lo = scale[0] if scale[0] is not None else min(known, default=0.0)
    hi = scale[1] if scale[1] is not None else max(known, default=1.0)
    if hi <= lo:
        hi = lo + 1
    out = []

    def yv(v: float) -> float:
        return top + height - (v - lo) / (hi - lo) * height

    mid = (lo + hi) / 2
    out.append(
        f'<line x1="{LABEL_W}" y1="{yv(mid):.1f}" x2="{LABEL_W + COL_W * len(columns) - 6}" y2="{yv(mid):.1f}" '
        'stroke="#ddd" stroke-dasharray="3 3"/>'
    )
    pts = []
    for k, stage in enumerate(columns):
        p = curve.get(stage)
        if p is None:
            continue
        value, low, high, _n, ids = p
        if value is None:
            continue
        x = LABEL_W + k * COL_W + COL_W / 2
        if low is not None and high is not None:
            out.append(
                f'<line x1="{x:.1f}" y1="{yv(high):.1f}" x2="{x:.1f}" y2="{yv(low):.1f}" stroke="#999" '
                'stroke-width="6" stroke-opacity=".35"/>'
            )
        pts.append((x, yv(value)))
        dot = f'<circle cx="{x:.1f}" cy="{yv(value):.1f}" r="5" fill="#b85450"/>'
        out.append(_linked(dot, ids, link))
    if len(pts) > 1:
        out.insert(
            1,
            '<polyline fill="none" stroke="#b85450" stroke-width="2" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            + '"/>',
        )
    return "".join(out)


def _heads(oi: OutsideIn) -> dict[Stage, tuple[str, tuple[int, ...]]]:
    return {v.stage: (f"reached by {v.share:.0%} ({v.reached:,})", v.ids) for v in oi.stages}


def _curve_points(oi: OutsideIn) -> dict[Stage, tuple[float | None, float | None, float | None, int, tuple[int, ...]]]:
    return {
        v.stage: (v.feeling.value, v.feeling.low, v.feeling.high, v.feeling.n, v.feeling.ids)
        for v in oi.stages
        if v.feeling is not None
    }


def as_is_svg(
    oi: OutsideIn, columns: Sequence[Stage], gap_marks: Sequence[GapMark] = (), link: Link | None = None
) -> str:
    return map_svg(
        f"As-is journey map: {oi.title}",
        columns,
        _as_is_lanes(oi),
        heads=_heads(oi),
        absent="not reached: missing step",
        gap_marks=gap_marks,
        curve=_curve_points(oi),
        scale=oi.scale,
        link=link,
    )


def to_be_svg(
    oi: OutsideIn,
    to_be: ToBeJourney,
    columns: Sequence[Stage],
    gap_marks: Sequence[GapMark] = (),
    link: Link | None = None,
) -> str:
    reached = {v.stage for v in oi.stages}
    heads = {s.stage: ("designed", ()) for s in to_be.stages}
    return map_svg(
        f"To-be journey map: {oi.title}",
        columns,
        _to_be_lanes(to_be, reached),
        heads=heads,  # type: ignore[arg-type]
        absent="not in the design: extra step",
        gap_marks=gap_marks,
        link=link,
    )


def _empty_svg(title: str, message: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 60" width="640" height="60" role="img" '
        f'aria-label="{escape(title)}"><rect x="1" y="1" width="638" height="58" rx="6" fill="#f4f4f4" stroke="#ccc"/>'
        f'<text x="20" y="36" font-size="16">{escape(message)}</text></svg>'
    )


# ---------------------------------------------------------------------------- trend charts

CHART_W, CHART_H = 320, 150


def _fmt_value(s: Series, v: float | None) -> str:
    if v is None:
        return "-"
    if s.unit == "s":
        return human_duration(v)
    return f"{v:.0f}{s.unit}" if abs(v) >= 10 or s.unit == "%" else f"{v:.1f}"


def line_chart(s: Series) -> str:
    """A small line chart of one series: its interval as a band, the latest value named, n on each point."""
    left, right, top, bottom = 44, 12, 26, 28
    w, h = CHART_W - left - right, CHART_H - top - bottom
    pts = [p for p in s.points if p.value is not None]
    title = f"{s.label} ({'higher' if s.better == 'up' else 'lower'} is better)"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_W} {CHART_H}" width="{CHART_W}" '
        f'height="{CHART_H}" role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif">',
        f'<text x="4" y="15" font-size="12" font-weight="bold">{escape(_wrap(title, 48, 1)[0])}</text>',
    ]
    if not pts:
        out.append('<text x="4" y="70" font-size="11" fill="#666">no data in this period</text></svg>')
        return "".join(out)
    values = [v for p in pts for v in (p.value, p.low, p.high) if v is not None]
    lo = s.low if s.low is not None else min(values)
    hi = s.high if s.high is not None else max(values)
    if s.unit == "%" and s.low is None:
        lo, hi = 0.0, 100.0
    if s.unit == "s":
        lo = 0.0
    if hi <= lo:
        hi = lo + 1.0

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (w / 2 if len(pts) == 1 else i * w / (len(pts) - 1))
        return x, top + h - (v - lo) / (hi - lo) * h

    out.append(f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="#fafafa" stroke="#e3e3e3"/>')
    for v in (lo, hi):
        _x, yy = xy(0, v)
        out.append(
            f'<text x="{left - 4}" y="{yy + 4:.1f}" font-size="10" text-anchor="end" fill="#666">'
            f"{escape(_fmt_value(s, v))}</text>"
        )
    band = [(i, p) for i, p in enumerate(pts) if p.low is not None and p.high is not None]
    if band:
        upper = [xy(i, p.high) for i, p in band]  # type: ignore[arg-type]
        lower = [xy(i, p.low) for i, p in reversed(band)]  # type: ignore[arg-type]
        if len(band) == 1:
            (x, y1), (_x, y2) = upper[0], lower[0]
            out.append(
                f'<line x1="{x:.1f}" y1="{y1:.1f}" x2="{x:.1f}" y2="{y2:.1f}" stroke="#9ab" stroke-width="8" stroke-opacity=".4"/>'
            )
        else:
            out.append(
                '<polygon fill="#9ab" fill-opacity=".3" points="'
                + " ".join(f"{x:.1f},{y:.1f}" for x, y in upper + lower)
                + '"/>'
            )
    line = [xy(i, p.value) for i, p in enumerate(pts)]  # type: ignore[arg-type]
    if len(line) > 1:
        out.append(
            '<polyline fill="none" stroke="#2b5d8a" stroke-width="2" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in line)
            + '"/>'
        )
    for (x, y), p in zip(line, pts, strict=True):
        interval = f", 95% {_fmt_value(s, p.low)} to {_fmt_value(s, p.high)}" if p.low is not None else ""
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#2b5d8a"><title>'
            f"{escape(f'{p.bucket}: {_fmt_value(s, p.value)} (n={p.n:,}{interval})')}</title></circle>"
        )
    last = pts[-1]
    first_label, last_label = pts[0].bucket, last.bucket
    out.append(f'<text x="{left}" y="{CHART_H - 14}" font-size="10" fill="#666">{escape(first_label)}</text>')
    if len(pts) > 1:
        out.append(
            f'<text x="{left + w}" y="{CHART_H - 14}" font-size="10" fill="#666" text-anchor="end">'
            f"{escape(last_label)}</text>"
        )
    summary = f"latest {_fmt_value(s, last.value)} (n={last.n:,})"
    if last.low is not None:
        summary += f", 95% {_fmt_value(s, last.low)} to {_fmt_value(s, last.high)}"
    out.append(f'<text x="4" y="{CHART_H - 2}" font-size="10">{escape(_wrap(summary, 56, 1)[0])}</text>')
    out.append("</svg>")
    return "".join(out)


def trends_section(tr: Trends | None) -> str:
    if tr is None or tr.empty:
        return "<p>No trends: no journeys in this period.</p>"
    figs = [
        f"<figure>{line_chart(s)}<figcaption>per {escape(tr.period)}; {len(s.points)} "
        f"{escape(tr.period)}s with data</figcaption></figure>"
        for s in tr.series
    ]
    return f"<div class='charts'>{''.join(figs)}</div>"


# ---------------------------------------------------------------------------- pages


def _gap_table(gap_marks: Sequence[GapMark], link: Link | None) -> str:
    if not gap_marks:
        return "<p>The as-is journey meets its design: no gaps.</p>"
    rows = []
    for rank, g in enumerate(gap_marks, 1):
        rows.append(
            f"<tr><td>{rank}</td><td>{escape(str(g.stage))}</td><td class='gap'>{escape(g.kind)}</td>"
            f"<td>{escape(g.size)}</td><td>{g.customers:,}</td><td>{escape(g.detail)}</td>"
            f"<td class='ids'>{_id_links(g.ids, link)}</td></tr>"
        )
    return (
        "<table><thead><tr><th>#</th><th>stage</th><th>gap</th><th>size</th><th>journeys touched</th>"
        "<th>what we see</th><th>demands</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _id_links(ids: Sequence[int], link: Link | None) -> str:
    if link is None:
        return " ".join(f"<span data-demand='{i}'>#{i}</span>" for i in ids)
    return " ".join(f"<a href='{escape(link(i))}' data-demand='{i}'>#{i}</a>" for i in ids)


def headline(oi: OutsideIn) -> str:
    m = oi.as_is
    return (
        f"{m.journeys:,} journeys; time to outcome median {human_duration(m.outcome_median_seconds)}, "
        f"p90 {human_duration(m.outcome_p90_seconds)}; effort {m.effort_per_journey:.1f} and "
        f"{m.contacts_per_journey:.2f} contacts per journey; self-service {m.self_service_share:.0%}. "
        f"Sentences, actions and steps from the latest {oi.sampled:,} journeys; survey answers placed on the stage "
        "each journey spent longest in before its outcome."
    )


def as_is_section(oi: OutsideIn, to_be: ToBeJourney | None, gap_marks: Sequence[GapMark], link: Link | None) -> str:
    if oi.empty:
        return f"<div class='map'>{_empty_svg('As-is journey map', f'{NO_JOURNEYS}: {oi.scope.describe()}.')}</div>"
    columns = to_be_stages(oi, to_be)
    return f"<p class='sub'>{escape(headline(oi))}</p><div class='map'>{as_is_svg(oi, columns, gap_marks, link)}</div>"


def to_be_section(oi: OutsideIn, to_be: ToBeJourney | None, gap_marks: Sequence[GapMark], link: Link | None) -> str:
    if to_be is None:
        return "<p>No to-be journey is declared for this service ([journeys.SERVICE] in the config).</p>"
    columns = to_be_stages(oi, to_be)
    return f"<div class='map'>{to_be_svg(oi, to_be, columns, gap_marks, link)}</div>"


def change_first(gap_marks: Sequence[GapMark], link: Link | None, top: int = 5) -> str:
    if not gap_marks:
        return "<p>Nothing to change: the as-is journey meets its design.</p>"
    items = "".join(
        f"<li><b>{escape(g.stage)}</b>: {escape(g.kind)} ({escape(g.size)}), {g.customers:,} journeys. "
        f"{escape(g.detail)}. <span class='ids'>{_id_links(g.ids, link)}</span></li>"
        for g in gap_marks[:top]
    )
    return f"<ol>{items}</ol>"


def map_page(
    oi: OutsideIn,
    to_be: ToBeJourney | None,
    gap_marks: Sequence[GapMark],
    trends: Trends | None = None,
    link: Link | None = None,
) -> str:
    """The outside-in page of a service: the as-is map, the to-be map aligned with it, what to change first, trends."""
    title = f"Journey map: {oi.title}"
    body = [
        f"<section class='sheet'><h1>{escape(title)}</h1><p>{escape(oi.scope.describe())}</p>",
        "<h2>As is: outside in</h2>",
        as_is_section(oi, to_be, gap_marks, link),
        "</section>",
    ]
    if to_be is not None:
        body += [
            "<section class='sheet'><h2>To be: as designed, stage by stage beside the as-is</h2>",
            to_be_section(oi, to_be, gap_marks, link),
            "<h2>What to change first</h2>",
            change_first(gap_marks, link),
            "</section>",
        ]
    if trends is not None:
        body += ["<section class='sheet'><h2>Trends</h2>", trends_section(trends), "</section>"]
    return page(title, "".join(body))


def as_is_page(oi: OutsideIn, to_be: ToBeJourney | None, gap_marks: Sequence[GapMark], link: Link | None) -> str:
    title = f"As-is journey: {oi.title}"
    body = f"<section class='sheet'><h1>{escape(title)}</h1>" + as_is_section(oi, to_be, gap_marks, link)
    if gap_marks:
        body += "<h2>Gaps against the design</h2>" + _gap_table(gap_marks, link)
    return page(title, body + "</section>")


def to_be_page(oi: OutsideIn, to_be: ToBeJourney | None, gap_marks: Sequence[GapMark], link: Link | None) -> str:
    title = f"To-be journey: {oi.title}"
    body = f"<section class='sheet'><h1>{escape(title)}</h1>" + to_be_section(oi, to_be, gap_marks, link)
    body += "<h2>What to change first</h2>" + change_first(gap_marks, link, top=10)
    return page(title, body + "</section>")


def trends_page(title: str, tr: Trends | None) -> str:
    t = f"Trends: {title}"
    scope = f"<p class='sub'>{escape(tr.scope.describe())}, per {escape(tr.period)}</p>" if tr is not None else ""
    return page(t, f"<section class='sheet'><h1>{escape(t)}</h1>{scope}{trends_section(tr)}</section>")


def comments_page(oi: OutsideIn, names: Sequence[str] = (), link: Link | None = None) -> str:
    """The customers' own words grouped by the stage their journey spent longest in, anonymised."""
    title = f"What customers said: {oi.title}"
    body = [f"<section class='sheet'><h1>{escape(title)}</h1>"]
    if not oi.comments:
        body.append("<p>No comments in this period.</p>")
    by_stage: dict[Stage, list[Comment]] = {}
    for c in oi.comments:
        by_stage.setdefault(c.stage, []).append(c)
    for stage in sorted(by_stage, key=lambda s: s.position):
        body.append(f"<h2>{escape(stage)} ({len(by_stage[stage]):,})</h2>")
        for c in by_stage[stage]:
            low = " low" if c.category in ("detractor", "dissatisfied", "hard") else ""
            body.append(
                f"<div class='comment{low}'><blockquote dir='auto'>{escape(anonymise(c.text, names))}</blockquote>"
                f"<small>{escape(c.method.upper())} {c.score} ({escape(c.category)})</small></div>"
            )
    body.append("</section>")
    return page(title, "".join(body))


def services_index(rows: Sequence[tuple[str, str, int, str]], title: str = "Journey maps by service") -> str:
    """An index page: one row per service (key, file, journeys, headline); each map is a page of its own."""
    items = "".join(
        f"<tr><td><a href='{escape(href)}'>{escape(key)}</a></td><td>{n:,}</td><td>{escape(note)}</td></tr>"
        for key, href, n, note in rows
    )
    return page(
        title,
        f"<h1>{escape(title)}</h1><table><thead><tr><th>service</th><th>journeys</th><th>notes</th></tr></thead>"
        f"<tbody>{items}</tbody></table>",
    )


__all__ = [
    "Count",
    "StageView",
    "as_is_page",
    "comments_page",
    "line_chart",
    "map_page",
    "map_svg",
    "page",
    "services_index",
    "to_be_page",
    "trends_page",
    "trends_section",
]
