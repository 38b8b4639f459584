"""``itsm report ...``: thin click commands over :mod:`itsmcore.reports`, which loads only when one runs."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import click

from .base import emit, open_desk, refresh_journeys

FORMATS = click.Choice(["table", "html", "csv", "json"])
_RELATIVE = re.compile(r"^(\d+)([dwmy])$")


def parse_when(value: str | None, *, end: bool = False) -> datetime | None:
    """``2026-03-01``, a full ISO timestamp, or ``90d`` / ``12w`` / ``6m`` / ``1y`` ago."""
    if not value:
        return None
    m = _RELATIVE.match(value.strip())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        days = {"d": 1, "w": 7, "m": 30, "y": 365}[unit] * n
        return datetime.now(UTC) - timedelta(days=days)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected a date like 2026-03-01, or 90d / 12w / 6m / 1y ago") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if end and len(value) == 10:  # a bare date as the end means the whole of that day
        when += timedelta(days=1)
    return when


@attrs.frozen
class Where:
    """The scope options as typed: ``--service``, ``--kind``, ``--since``, ``--until``."""

    service: str | None
    kind: str | None
    since: str | None
    until: str | None


def scope_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options every report takes; the command receives them as one ``where`` (a :class:`Where`)."""

    @functools.wraps(f)
    def command(
        *args: Any, service: str | None, kind: str | None, since: str | None, until: str | None, **kw: Any
    ) -> Any:
        return f(*args, where=Where(service, kind, since, until), **kw)

    c: Callable[..., Any] = command
    c = click.option("--until", help="Up to (not including) this date, e.g. 2026-04-01.")(c)
    c = click.option("--since", help="From this date, e.g. 2026-01-01, or 90d for the last 90 days.")(c)
    c = click.option("--kind", type=click.Choice(["value", "failure", "information"]), help="Only this demand kind.")(c)
    c = click.option("--service", help="Only this service (its key).")(c)
    c = click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")(c)
    c = click.option(
        "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file, not stdout."
    )(c)
    return c


def _scope(desk: Any, where: Where) -> Any:
    """Turn the typed scope options into a :class:`~itsmcore.reports.Scope`, refusing what cannot match anything."""
    from ..reports import Scope

    if where.service:
        desk.get_service(where.service)  # unknown service: a clear error with a close match
    start, stop = parse_when(where.since), parse_when(where.until, end=True)
    if start and stop and start >= stop:
        raise click.BadParameter(f"--since {where.since} is not before --until {where.until}")
    return Scope(since=start, until=stop, service=where.service, kind=where.kind)


def _out(text: str, output: Path | None) -> None:
    """Write a rendered report to stdout, or to the ``-o`` file (saying so on stderr, so stdout stays clean)."""
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def _show(
    fmt: str,
    output: Path | None,
    *,
    data: Callable[[], Any],
    rows: Callable[[], list[dict[str, Any]]],
    html: Callable[[], str],
    table: Callable[[Any], None],
) -> None:
    """One report in the chosen format: JSON of ``data``, CSV of ``rows``, the HTML page, or a rich table."""
    from ..reports import render

    if fmt == "json":
        _out(render.to_json(data()), output)
    elif fmt == "csv":
        _out(render.to_csv(rows()), output)
    elif fmt == "html":
        _out(html(), output)
    else:
        table(_report_console(output))


def _report_console(output: Path | None) -> Any:
    """Where a table report goes: the terminal, or the ``-o`` file at 160 columns whatever the terminal's width."""
    from rich.console import Console

    if output is None:
        return Console() if sys.stdout.isatty() else Console(width=160)
    return Console(file=output.open("w", encoding="utf-8"), width=160)


@click.group()
def report() -> None:
    """Experience reports: journey maps, surveys, failure demand, better than last time."""


@report.command()
@scope_options
@click.option("--demand", "demand_id", type=int, help="One demand's journey: what the customer sees, and behind it.")
@click.pass_context
def journeys(
    ctx: click.Context,
    fmt: str,
    output: Path | None,
    where: Where,
    demand_id: int | None,
) -> None:
    """The as-is journey map: stages, reach, time in each, effort, channels, drop-offs; gaps against the to-be."""
    from ..reports import journey_report, render
    from ..reports.journeys import as_dict

    desk = open_desk(ctx)
    if demand_id is not None:
        view = desk.show(demand_id)
        rows = [
            {
                "id": e.id,
                "stage": str(e.stage),
                "channel": e.channel,
                "actor": e.actor,
                "customer_sees": e.customer_sees,
                "behind_scenes": e.behind_scenes,
                "at": e.at.isoformat(),
            }
            for e in view.journey
        ]
        if fmt == "json":
            _out(render.to_json(rows), output)
        elif fmt == "csv":
            _out(render.to_csv(rows), output)
        else:
            emit("table", rows, ["stage", "channel", "customer_sees", "behind_scenes"], f"demand {demand_id}")
        return
    scope = _scope(desk, where)
    m, gaps = journey_report(desk, scope)
    _show(
        fmt,
        output,
        data=lambda: as_dict(m, gaps) | {"outside_in": _outside_in(desk, scope, m)},
        rows=lambda: as_dict(m, gaps)["stages"],
        html=lambda: _map_page(desk, scope, m),
        table=lambda console: render.journey_table(console, m, gaps),
    )


def _outside_in(desk: Any, scope: Any, m: Any) -> dict[str, Any]:
    from ..reports.outside_in import as_dict, compare, outside_in

    to_be = desk.config.to_be.get(scope.service or "")
    with desk.engine.connect() as conn:
        oi = outside_in(conn, scope, desk.deployment.surveys(), as_is=m)
        return as_dict(oi, compare(conn, oi, to_be) if to_be is not None and not oi.empty else [])


def _map_page(desk: Any, scope: Any, m: Any = None) -> str:
    """The outside-in map page of ``scope``: as-is, to-be beside it, what to change first, trends."""
    from ..reports import demand_link, outside_in_report, trend_report
    from ..reports.maps import map_page

    oi, gap_marks = outside_in_report(desk, scope, fresh=False)
    tr = trend_report(desk, scope, fresh=False)
    return map_page(oi, desk.config.to_be.get(scope.service or ""), gap_marks, tr, demand_link(desk))


@report.command()
@scope_options
@click.option(
    "--by",
    "dimensions",
    multiple=True,
    type=click.Choice(["overall", "service", "kind", "channel", "role", "department", "period", "mode"]),
    help="Cut by these (repeatable); default: all of them.",
)
@click.pass_context
def surveys(
    ctx: click.Context,
    fmt: str,
    output: Path | None,
    where: Where,
    dimensions: tuple[str, ...],
) -> None:
    """NPS, CSAT and CES with sample sizes and 95% intervals; detractors' comments beside their journeys."""
    from ..reports import DIMENSIONS, render, survey_report
    from ..reports.surveys import as_dicts

    desk = open_desk(ctx)
    rows, low = survey_report(desk, _scope(desk, where), dimensions or DIMENSIONS)
    _show(
        fmt,
        output,
        data=lambda: as_dicts(rows),
        rows=lambda: as_dicts(rows),
        html=lambda: render.surveys_html(rows, low),
        table=lambda console: render.survey_table(console, rows, low),
    )


@report.command("failure-demand")
@scope_options
@click.pass_context
def failure_demand(
    ctx: click.Context,
    fmt: str,
    output: Path | None,
    where: Where,
) -> None:
    """The share of contacts that are failure demand, by cause (incidents, chases, can't find it, repeats, outages)."""
    from ..reports import failure_demand_report, render
    from ..reports.failure import as_dicts

    desk = open_desk(ctx)
    fd = failure_demand_report(desk, _scope(desk, where))
    _show(
        fmt,
        output,
        data=lambda: as_dicts(fd),
        rows=lambda: as_dicts(fd),
        html=lambda: render.failure_html(fd),
        table=lambda console: render.failure_table(console, fd),
    )


@report.command()
@scope_options
@click.pass_context
def consistency(
    ctx: click.Context,
    fmt: str,
    output: Path | None,
    where: Where,
) -> None:
    """Better than last time: each experience against the customer's previous one; who got a worse one."""
    from ..reports import consistency_report, render
    from ..reports.consistency import as_dicts

    desk = open_desk(ctx)
    c = consistency_report(desk, _scope(desk, where))
    summary = {"id": "consistency", "compared": c.compared, "worse": c.worse, "as_good_share": c.as_good_share}
    _show(
        fmt,
        output,
        data=lambda: summary | {"worst": as_dicts(c)},
        rows=lambda: as_dicts(c),
        html=lambda: render.consistency_html(c),
        table=lambda console: render.consistency_table(console, c),
    )


@report.command()
@scope_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (there is none when stderr is not a terminal).")
@click.pass_context
def experience(
    ctx: click.Context,
    fmt: str,
    output: Path | None,
    where: Where,
    quiet: bool,
) -> None:
    """Everything on one page a CIO could read: headline figures, journey maps, surveys, failure demand, trends."""
    from ..progress import progress_bar
    from ..reports import experience_report, render

    desk = open_desk(ctx)
    scope = _scope(desk, where)
    refresh_journeys(desk, quiet)
    with progress_bar("building the experience report", total=8, quiet=quiet) as bar:
        r = experience_report(desk, scope, progress=lambda step: bar.advance(description=f"experience report: {step}"))
    _show(
        fmt,
        output,
        data=lambda: render.experience_dict(r),
        rows=lambda: render.experience_dict(r)["failure_demand"],
        html=lambda: render.experience_html(r),
        table=lambda console: render.experience_terminal(console, r),
    )


@report.command()
@scope_options
@click.option("--by", "period", type=click.Choice(["week", "month"]), help="Bucket size; default: by the span.")
@click.pass_context
def trends(ctx: click.Context, fmt: str, output: Path | None, where: Where, period: str | None) -> None:
    """NPS, CSAT, CES, failure-demand share, self-service, time to outcome, better than last time: per week or month."""
    from ..reports import human_duration, trend_report
    from ..reports.maps import trends_page
    from ..reports.trends import as_dict, as_rows

    desk = open_desk(ctx)
    scope = _scope(desk, where)
    tr = trend_report(desk, scope, period)

    def table(console: Any) -> None:
        from rich.table import Table

        console.print(f"Trends: {scope.describe()}, per {tr.period}")
        if tr.empty:
            console.print("No journeys in this period.")
            return
        grid = Table("series", *tr.buckets[-8:])
        for s in tr.series:
            by = {p.bucket: p for p in s.points}
            grid.add_row(
                s.label,
                *[
                    "-"
                    if (p := by.get(b)) is None or p.value is None
                    else f"{human_duration(p.value) if s.unit == 's' else f'{p.value:.0f}'} (n={p.n})"
                    for b in tr.buckets[-8:]
                ],
            )
        console.print(grid)

    _show(
        fmt,
        output,
        data=lambda: as_dict(tr),
        rows=lambda: as_rows(tr),
        html=lambda: trends_page(scope.describe(), tr),
        table=table,
    )


@report.command()
@click.option("--service", required=True, help="The service (its key).")
@click.option("--since", help="From this date, e.g. 2026-01-01, or 90d for the last 90 days.")
@click.option("--until", help="Up to (not including) this date, e.g. 2026-04-01.")
@click.option(
    "--output",
    "-o",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The directory to write the pack into (made if missing).",
)
@click.option("--no-pdf", is_flag=True, help="HTML only: do not print the pages to PDF.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (there is none when stderr is not a terminal).")
@click.pass_context
def workshop(
    ctx: click.Context,
    service: str,
    since: str | None,
    until: str | None,
    directory: Path,
    no_pdf: bool,
    quiet: bool,
) -> None:
    """A service's workshop pack: as-is map, to-be map, trends and customers' comments, as HTML and A3 PDFs."""
    from ..progress import progress_bar
    from ..reports.workshop import write_workshop

    desk = open_desk(ctx)
    scope = _scope(desk, Where(service, None, since, until))
    refresh_journeys(desk, quiet)
    steps = 3 if no_pdf else 7
    with progress_bar(f"workshop pack for {service}", total=steps, quiet=quiet) as bar:
        pack = write_workshop(
            desk, scope, directory, pdf=not no_pdf, progress=lambda step: bar.advance(description=f"workshop: {step}")
        )
    for path in (*pack.pages, *pack.pdfs):
        click.echo(f"wrote {path}")
    if not no_pdf and not pack.pdfs:
        click.echo(pack.skipped, err=True)


@report.command()
@click.option("--since", help="From this date, e.g. 2026-01-01, or 90d for the last 90 days.")
@click.option("--until", help="Up to (not including) this date, e.g. 2026-04-01.")
@click.option(
    "--output",
    "-o",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The directory to write index.html and one page per service into.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (there is none when stderr is not a terminal).")
@click.pass_context
def maps(ctx: click.Context, since: str | None, until: str | None, directory: Path, quiet: bool) -> None:
    """The outside-in journey map of every service, a page each, with an index (busiest first)."""
    from sqlalchemy import func, select

    from ..progress import progress_bar
    from ..reports.maps import services_index
    from ..reports.query import D, and_all

    desk = open_desk(ctx)
    scope = _scope(desk, Where(None, None, since, until))
    refresh_journeys(desk, quiet)
    with desk.engine.connect() as conn:
        counts = conn.execute(
            select(D.c.service_key, func.count())
            .where(and_all(scope.demand_filter()), D.c.service_key.is_not(None))
            .group_by(D.c.service_key)
            .order_by(func.count().desc(), D.c.service_key)
        ).all()
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    with progress_bar("journey maps", total=len(counts), quiet=quiet) as bar:
        for key, n in counts:
            name = "service-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(key)) + ".html"
            (directory / name).write_text(_map_page(desk, attrs.evolve(scope, service=key)), encoding="utf-8")
            gaps = "has a to-be journey" if key in desk.config.to_be else ""
            rows.append((str(key), name, int(n), gaps))
            bar.advance()
    (directory / "index.html").write_text(services_index(rows), encoding="utf-8")
    click.echo(f"wrote {directory / 'index.html'} and {len(rows):,} service pages")


@report.command("service-levels")
@scope_options
@click.pass_context
def service_levels(
    ctx: click.Context,
    fmt: str,
    output: Path | None,
    where: Where,
) -> None:
    """Service-level attainment and breaches per service, team and priority (first response and resolution)."""
    from ..reports import render
    from ..reports.service_levels import as_dict, as_dicts, service_level_report

    desk = open_desk(ctx)
    r = service_level_report(desk, _scope(desk, where))
    _show(
        fmt,
        output,
        data=lambda: as_dict(r),
        rows=lambda: as_dicts(r),
        html=lambda: render.service_level_html(r),
        table=lambda console: render.service_level_table(console, r),
    )


@report.command("knowledge")
@scope_options
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="Articles per list.")
@click.pass_context
def knowledge(ctx: click.Context, fmt: str, output: Path | None, where: Where, top: int) -> None:
    """Knowledge articles most used and least helpful, and the searches that found nothing (articles to write)."""
    from ..reports import knowledge as k
    from ..reports import refresh_rollup

    desk = open_desk(ctx)
    refresh_rollup(desk)  # its "could not find it" is the failure-demand report's, from the rollup
    r = k.knowledge_report(desk, _scope(desk, where), top=top)
    _show(
        fmt,
        output,
        data=lambda: k.as_dict(r),
        rows=lambda: k.as_dicts(r),
        html=lambda: k.html(r),
        table=lambda console: k.table(console, r),
    )


@report.command("repeat-incidents")
@scope_options
@click.option(
    "--threshold",
    type=click.IntRange(min=2),
    default=3,
    show_default=True,
    help="Suggest a problem from this many incidents of one service and item that no problem covers.",
)
@click.pass_context
def repeat_incidents(ctx: click.Context, fmt: str, output: Path | None, where: Where, threshold: int) -> None:
    """Incidents by service and configuration item, and the problems to open for them ('itsm problem new ...')."""
    from ..reports import repeats

    desk = open_desk(ctx)
    r = repeats.repeat_incidents(desk, _scope(desk, where), threshold=threshold)
    _show(
        fmt,
        output,
        data=lambda: repeats.as_dict(r),
        rows=lambda: repeats.as_dicts(r),
        html=lambda: repeats.html(r),
        table=lambda console: repeats.table(console, r),
    )
