"""Repeat incidents: incidents by service and configuration item, and the problems to open for them.

An incident's configuration item is the device its customer named when reporting it (a
``device`` ask's answer); an incident without one counts under its service alone. A
group with at least ``threshold`` incidents that no problem covers yet is a suggestion:
the command that opens the problem with them linked.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import case, func, null, select

from ..store import tables as t
from .query import Scope, and_all

if TYPE_CHECKING:
    from rich.console import Console

    from ..desk import Desk

D = t.demands
PL = t.problem_links


@attrs.frozen(kw_only=True)
class RepeatGroup:
    """Incidents of one service (and one configuration item, if named) in the period."""

    service: str
    ci: str | None
    incidents: int
    unlinked: int  # not yet linked to any problem
    open: int
    first: datetime
    last: datetime
    problems: tuple[int, ...]  # problems its incidents are linked to
    suggest: bool
    unlinked_ids: tuple[int, ...] = ()  # the incidents no problem covers, for a suggestion

    @property
    def command(self) -> str:
        """The command that opens a problem for the group's incidents no problem covers."""
        where = f"--service {self.service}" + (f" --ci {self.ci}" if self.ci else "")
        what = f"Repeated incidents on {self.ci or self.service}"
        return f'itsm problem new "{what}" {where} --link {",".join(str(i) for i in self.unlinked_ids)}'


@attrs.frozen(kw_only=True)
class RepeatReport:
    scope: Scope
    threshold: int
    groups: list[RepeatGroup]

    @property
    def suggestions(self) -> list[RepeatGroup]:
        return [g for g in self.groups if g.suggest]


def repeat_incidents(desk: Desk, scope: Scope, *, threshold: int = 3) -> RepeatReport:
    """Incidents in ``scope`` grouped by service and item, most first; those worth a problem are marked.

    One grouping query does the counting; the incidents of a suggested group and the
    problems of each group are read afterwards, from the few rows they concern.
    """
    devices = sorted({a.name for s in desk.config.services for a in s.asks if str(a.type) == "device"})
    where = and_all(attrs.evolve(scope, kind="failure").demand_filter())
    ci_expr: Any = func.coalesce(*(D.c.answers[n].as_string() for n in devices), null()) if devices else null()
    ci = ci_expr.label("ci")
    by_ci = [ci_expr] if devices else []  # PostgreSQL refuses a constant in GROUP BY
    linked = select(PL.c.demand_id).where(PL.c.demand_id.is_not(None)).distinct().subquery()
    is_open = case((D.c.state.in_(("new", "in_progress")), 1), else_=0)
    unlinked = case((linked.c.demand_id.is_(None), 1), else_=0)
    grouped = (
        select(
            D.c.service_key,
            ci,
            func.count(),
            func.sum(unlinked),
            func.sum(is_open),
            func.min(D.c.created_at),
            func.max(D.c.created_at),
        )
        .select_from(D.outerjoin(linked, linked.c.demand_id == D.c.id))
        .where(where)
        .group_by(D.c.service_key, *by_ci)
    )
    out: list[RepeatGroup] = []
    with desk.engine.connect() as conn:
        rows = conn.execute(grouped).all()
        problems: dict[tuple[str | None, str | None], set[int]] = defaultdict(set)
        for service, item, pid in conn.execute(
            select(D.c.service_key, ci, PL.c.problem_id).join(PL, PL.c.demand_id == D.c.id).where(where).distinct()
        ):
            problems[(service, item or None)].add(int(pid))
        wanted = {(r[0], r[1] or None) for r in rows if int(r[3] or 0) >= threshold and r[0] is not None}
        free_ids: dict[tuple[str | None, str | None], list[int]] = defaultdict(list)
        if wanted:  # the incidents no problem covers, of the groups worth a problem: one query
            for service, item, did in conn.execute(
                select(D.c.service_key, ci, D.c.id)
                .select_from(D.outerjoin(linked, linked.c.demand_id == D.c.id))
                .where(where, linked.c.demand_id.is_(None))
                .order_by(D.c.id)
            ):
                if (service, item or None) in wanted:
                    free_ids[(service, item or None)].append(int(did))
        for service, item, n, free, n_open, first, last in rows:
            item = item or None
            suggest = (service, item) in wanted
            ids = tuple(free_ids.get((service, item), ()))
            out.append(
                RepeatGroup(
                    service=service or "(no service)",
                    ci=item,
                    incidents=int(n),
                    unlinked=int(free or 0),
                    open=int(n_open or 0),
                    first=_utc(first),
                    last=_utc(last),
                    problems=tuple(sorted(problems.get((service, item), ()))),
                    suggest=suggest,
                    unlinked_ids=ids,
                )
            )
    out.sort(key=lambda g: (-g.incidents, g.service, g.ci or ""))
    return RepeatReport(scope=scope, threshold=threshold, groups=out)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _group_dict(g: RepeatGroup) -> dict[str, Any]:
    return {
        "service": g.service,
        "ci": g.ci,
        "incidents": g.incidents,
        "open": g.open,
        "not_linked": g.unlinked,
        "problems": list(g.problems),
        "first": g.first.isoformat(timespec="seconds"),
        "last": g.last.isoformat(timespec="seconds"),
        "suggest": g.command if g.suggest else None,
    }


def as_dict(r: RepeatReport) -> dict[str, Any]:
    return {
        "scope": r.scope.describe(),
        "threshold": r.threshold,
        "groups": [_group_dict(g) for g in r.groups],
        "suggestions": [g.command for g in r.suggestions],
    }


def as_dicts(r: RepeatReport) -> list[dict[str, Any]]:
    """One row per service and item (for CSV)."""
    return [{**_group_dict(g), "problems": " ".join(str(p) for p in g.problems)} for g in r.groups]


def table(console: Console, r: RepeatReport) -> None:
    from rich.markup import escape as esc
    from rich.table import Table

    console.print(f"Repeat incidents: {esc(r.scope.describe())} (a problem is suggested from {r.threshold})")
    tab = Table(title="Incidents by service and item")
    for col in ("service", "item", "incidents", "open", "not linked", "problems", "last"):
        tab.add_column(col)
    for g in r.groups:
        tab.add_row(
            esc(g.service), esc(g.ci or "-"), str(g.incidents), str(g.open), str(g.unlinked),
            ", ".join(f"#{p}" for p in g.problems) or "-", g.last.strftime("%Y-%m-%d %H:%M"),
        )  # fmt: skip
    console.print(tab if r.groups else "No incidents in this period.")
    if r.suggestions:
        console.print("Problems to open:")
        for g in r.suggestions:
            console.print(f"  {esc(g.command)}", soft_wrap=True)
    else:
        console.print("Problems to open: none")


def html(r: RepeatReport) -> str:
    head = ["service", "item", "incidents", "open", "not linked", "problems", "last"]
    body_rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(c))}</td>"
            for c in (
                g.service,
                g.ci or "-",
                g.incidents,
                g.open,
                g.unlinked,
                ", ".join(f"#{p}" for p in g.problems) or "-",
                g.last.strftime("%Y-%m-%d %H:%M"),
            )
        )
        + "</tr>"
        for g in r.groups
    )
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    groups = f"<table><thead><tr>{th}</tr></thead><tbody>{body_rows}</tbody></table>" if r.groups else "<p>None.</p>"
    todo = "".join(f"<li><code>{escape(g.command)}</code></li>" for g in r.suggestions)
    body = (
        f"<h1>Repeat incidents</h1><p>{escape(r.scope.describe())}; a problem is suggested from "
        f"{r.threshold} incidents no problem covers.</p>{groups}"
        f"<h2>Problems to open</h2>{f'<ul>{todo}</ul>' if todo else '<p>None.</p>'}"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Repeat incidents</title></head>'
        f"<body>{body}</body></html>"
    )
