"""Repeat incidents: incidents by service and configuration item, and the problems to open for them.

An incident's configuration item is the device its customer named when reporting it (a
``device`` ask's answer); an incident without one counts under its service alone. A
group with at least ``threshold`` incidents that no problem covers yet is a suggestion:
the command that opens the problem with them linked.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import select

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
    incidents: tuple[int, ...]
    unlinked: tuple[int, ...]  # not yet linked to any problem
    open: int
    first: datetime
    last: datetime
    problems: tuple[int, ...]  # problems its incidents are linked to
    suggest: bool

    @property
    def command(self) -> str:
        """The command that opens a problem for the group's incidents no problem covers."""
        where = f"--ci {self.ci}" if self.ci else f"--service {self.service}"
        what = f"Repeated incidents on {self.ci or self.service}"
        return f'itsm problem new "{what}" {where} --link {",".join(str(i) for i in self.unlinked)}'


@attrs.frozen(kw_only=True)
class RepeatReport:
    scope: Scope
    threshold: int
    groups: list[RepeatGroup]

    @property
    def suggestions(self) -> list[RepeatGroup]:
        return [g for g in self.groups if g.suggest]


def repeat_incidents(desk: Desk, scope: Scope, *, threshold: int = 3) -> RepeatReport:
    """Incidents in ``scope`` grouped by service and item, most first; those worth a problem are marked."""
    devices = {a.name for s in desk.config.services for a in s.asks if str(a.type) == "device"}
    scoped = attrs.evolve(scope, kind="failure")
    with desk.engine.connect() as conn:
        found = conn.execute(
            select(D.c.id, D.c.service_key, D.c.answers, D.c.state, D.c.created_at)
            .where(and_all(scoped.demand_filter()))
            .order_by(D.c.id)
        ).all()
        links: dict[int, set[int]] = defaultdict(set)
        for did, pid in conn.execute(select(PL.c.demand_id, PL.c.problem_id).where(PL.c.demand_id.is_not(None))):
            links[int(did)].add(int(pid))
    groups: dict[tuple[str, str | None], list[Any]] = defaultdict(list)
    for r in found:
        answers = r.answers or {}
        ci = next((str(answers[n]) for n in sorted(devices) if answers.get(n)), None)
        groups[(r.service_key or "(no service)", ci)].append(r)
    out = []
    for (service, ci), rs in groups.items():
        ids = tuple(r.id for r in rs)
        unlinked = tuple(i for i in ids if not links.get(i))
        problems = tuple(sorted({p for i in ids for p in links.get(i, ())}))
        out.append(
            RepeatGroup(
                service=service,
                ci=ci,
                incidents=ids,
                unlinked=unlinked,
                open=sum(1 for r in rs if r.state in ("new", "in_progress")),
                first=min(r.created_at for r in rs),
                last=max(r.created_at for r in rs),
                problems=problems,
                suggest=len(unlinked) >= threshold and service != "(no service)",
            )
        )
    out.sort(key=lambda g: (-len(g.incidents), g.service, g.ci or ""))
    return RepeatReport(scope=scope, threshold=threshold, groups=out)


def _group_dict(g: RepeatGroup) -> dict[str, Any]:
    return {
        "service": g.service,
        "ci": g.ci,
        "incidents": len(g.incidents),
        "open": g.open,
        "not_linked": len(g.unlinked),
        "problems": list(g.problems),
        "first": g.first.isoformat(timespec="seconds"),
        "last": g.last.isoformat(timespec="seconds"),
        "suggest": g.command if g.suggest else None,
    }


def as_dict(r: RepeatReport) -> dict[str, Any]:
    return {
        "scope": r.scope.describe(),
        "threshold": r.threshold,
        "groups": [{**_group_dict(g), "incident_ids": list(g.incidents)} for g in r.groups],
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
            esc(g.service), esc(g.ci or "-"), str(len(g.incidents)), str(g.open), str(len(g.unlinked)),
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
                len(g.incidents),
                g.open,
                len(g.unlinked),
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
