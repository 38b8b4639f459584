"""The knowledge report: which articles answer most, which help least, and what customers looked for in vain.

An article's *uses* are the questions it answered by self-service and the times a
customer opened it. Whether it helped comes from two places: the "did this help?" buttons
beside an article, and the customer's "That answered it" / "I still need help" on a
question it answered (a question reopened for a person counts as not helped). Searches
that found neither a service nor an article are the articles to write next. The figure
of questions answered from knowledge is the failure-demand report's "could not find it".
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import func, select

from ..store import tables as t
from .failure import failure_demand
from .query import Scope, and_all

if TYPE_CHECKING:
    from rich.console import Console

    from ..desk import Desk

#: States of a question answered by an article whose customer said it answered it.
_HELPED = ("closed",)


@attrs.frozen(kw_only=True)
class ArticleFigures:
    """One article's figures in the period."""

    key: str
    title: str
    state: str
    answered: int = 0  # questions it answered by self-service
    reads: int = 0  # times a customer opened it
    helped: int = 0
    not_helped: int = 0

    @property
    def uses(self) -> int:
        return self.answered + self.reads

    @property
    def votes(self) -> int:
        return self.helped + self.not_helped

    @property
    def helpful_share(self) -> float | None:
        """Share of "it helped" among the answers given, ``None`` before anyone answered."""
        return self.helped / self.votes if self.votes else None


@attrs.frozen(kw_only=True)
class Unfound:
    """A search that found nothing: what was typed, how often, and when last."""

    query: str
    count: int
    last: datetime


@attrs.frozen(kw_only=True)
class KnowledgeReport:
    scope: Scope
    articles: list[ArticleFigures]
    unfound: list[Unfound]
    searches: int
    cant_find: int  # the failure-demand report's "could not find it": questions answered from knowledge or the catalog
    top: int = 10

    @property
    def most_used(self) -> list[ArticleFigures]:
        return sorted((a for a in self.articles if a.uses), key=lambda a: (-a.uses, a.key))[: self.top]

    @property
    def least_helpful(self) -> list[ArticleFigures]:
        voted = [a for a in self.articles if a.votes]
        return sorted(voted, key=lambda a: (a.helpful_share or 0.0, -a.votes, a.key))[: self.top]

    @property
    def empty(self) -> bool:
        return not self.searches and not any(a.uses or a.votes for a in self.articles)


def knowledge_report(desk: Desk, scope: Scope, *, top: int = 10) -> KnowledgeReport:
    """The knowledge report for ``scope`` (its dates; with a service, the articles about it)."""
    A, U, F, S, D = t.knowledge_articles, t.knowledge_uses, t.knowledge_feedback, t.knowledge_searches, t.demands
    figures: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    with desk.engine.connect() as conn:
        articles = {r.key: r for r in conn.execute(select(A.c.key, A.c.title, A.c.state, A.c.services))}
        period = attrs.evolve(scope, service=None, kind=None)  # articles are not of a demand kind
        when = period.filters(U.c.at, None, None)
        for r in conn.execute(
            select(U.c.article_key, U.c.via, func.count()).where(and_all(when)).group_by(U.c.article_key, U.c.via)
        ):
            figures[r[0]]["answered" if r[1] == "answer" else "reads"] += int(r[2])
        # the customer's word on questions an article answered: closed (yes) or reopened for a person (no)
        answered = (
            select(U.c.article_key, D.c.state, D.c.self_service, func.count())
            .join(D, D.c.id == U.c.demand_id)
            .where(U.c.via == "answer", *when)
            .group_by(U.c.article_key, D.c.state, D.c.self_service)
        )
        for r in conn.execute(answered):
            if not r[2]:
                figures[r[0]]["not_helped"] += int(r[3])
            elif r[1] in _HELPED:
                figures[r[0]]["helped"] += int(r[3])
        fwhen = period.filters(F.c.at, None, None)
        for r in conn.execute(
            select(F.c.article_key, F.c.helped, func.count())
            .where(and_all(fwhen))
            .group_by(F.c.article_key, F.c.helped)
        ):
            figures[r[0]]["helped" if r[1] else "not_helped"] += int(r[2])
        swhen = period.filters(S.c.at, None, None)
        searches = int(conn.execute(select(func.count()).select_from(S).where(and_all(swhen))).scalar_one())
        unfound = [
            Unfound(query=r[0], count=int(r[1]), last=r[2])
            for r in conn.execute(
                select(func.lower(S.c.query), func.count(), func.max(S.c.at))
                .where(S.c.services == 0, S.c.articles == 0, *swhen)
                .group_by(func.lower(S.c.query))
                .order_by(func.count().desc(), func.lower(S.c.query))
                .limit(top * 3)
            )
        ]
        cant_find = failure_demand(conn, attrs.evolve(scope, kind=None)).by_category.get("cant_find", 0)
    rows = []
    for key, r in sorted(articles.items()):
        if scope.service and scope.service not in (r.services or ()):
            continue
        f = figures.get(key, {})
        rows.append(
            ArticleFigures(
                key=key,
                title=r.title,
                state=r.state,
                answered=f.get("answered", 0),
                reads=f.get("reads", 0),
                helped=f.get("helped", 0),
                not_helped=f.get("not_helped", 0),
            )
        )
    return KnowledgeReport(scope=scope, articles=rows, unfound=unfound, searches=searches, cant_find=cant_find, top=top)


def _article_dict(a: ArticleFigures) -> dict[str, Any]:
    return {
        "key": a.key,
        "title": a.title,
        "state": a.state,
        "answered": a.answered,
        "reads": a.reads,
        "helped": a.helped,
        "not_helped": a.not_helped,
        "helpful_share": a.helpful_share,
    }


def as_dict(r: KnowledgeReport) -> dict[str, Any]:
    return {
        "scope": r.scope.describe(),
        "searches": r.searches,
        "could_not_find_it": r.cant_find,
        "most_used": [_article_dict(a) for a in r.most_used],
        "least_helpful": [_article_dict(a) for a in r.least_helpful],
        "searches_with_no_result": [
            {"query": u.query, "count": u.count, "last": u.last.isoformat(timespec="seconds")} for u in r.unfound
        ],
    }


def as_dicts(r: KnowledgeReport) -> list[dict[str, Any]]:
    """One row per article (for CSV)."""
    return [_article_dict(a) for a in r.articles]


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def table(console: Console, r: KnowledgeReport) -> None:
    from rich.markup import escape as esc
    from rich.table import Table

    console.print(f"Knowledge: {esc(r.scope.describe())}")
    console.print(
        f"{r.searches:,} portal searches; {r.cant_find:,} questions answered from knowledge or the catalog "
        "(failure demand: could not find it)"
    )
    for title, items in (("Most used", r.most_used), ("Least helpful", r.least_helpful)):
        tab = Table(title=title)
        for col in ("article", "title", "state", "answered", "reads", "helped", "not helped", "helpful"):
            tab.add_column(col)
        for a in items:
            tab.add_row(
                a.key, esc(a.title), a.state, str(a.answered), str(a.reads), str(a.helped), str(a.not_helped),
                _share(a.helpful_share),
            )  # fmt: skip
        console.print(tab if items else f"{title}: none yet")
    tab = Table(title="Searches with no result: articles to write")
    for col in ("searched for", "times", "last"):
        tab.add_column(col)
    for u in r.unfound:
        tab.add_row(esc(u.query), str(u.count), u.last.strftime("%Y-%m-%d %H:%M"))
    console.print(tab if r.unfound else "Searches with no result: none")


def html(r: KnowledgeReport) -> str:
    def rows(head: list[str], body: list[list[Any]]) -> str:
        th = "".join(f"<th>{escape(h)}</th>" for h in head)
        trs = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in body)
        return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>" if body else "<p>None yet.</p>"

    head = ["article", "title", "answered", "reads", "helped", "not helped", "helpful"]

    def line(a: ArticleFigures) -> list[Any]:
        return [a.key, a.title, a.answered, a.reads, a.helped, a.not_helped, _share(a.helpful_share)]

    body = (
        f"<h1>Knowledge</h1><p>{escape(r.scope.describe())}: {r.searches:,} portal searches; {r.cant_find:,} "
        "questions answered from knowledge or the catalog (could not find it).</p>"
        f"<h2>Most used</h2>{rows(head, [line(a) for a in r.most_used])}"
        f"<h2>Least helpful</h2>{rows(head, [line(a) for a in r.least_helpful])}"
        "<h2>Searches with no result: articles to write</h2>"
        + rows(["searched for", "times", "last"], [[u.query, u.count, u.last] for u in r.unfound])
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Knowledge</title></head>'
        f"<body>{body}</body></html>"
    )
