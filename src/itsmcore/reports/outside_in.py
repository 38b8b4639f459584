"""The outside-in journey map of a service: per stage, what the customer does, sees and feels, and what hurts.

Built on the as-is map (:func:`.journeys.journey_map`, from the rollup) with lanes:

* **does**: the customer's own actions at the stage (journey events whose actor is the customer);
* **sees**: the most common customer-facing sentences at the stage;
* **touchpoints**: the channels the stage began in, with their shares;
* **feels**: customer effort and repeat contacts (the customer's comments while waiting) where
  they were spent, and survey answers placed on the stage where each journey lost the most
  time: the score of those answers, with n and the method's 95 % interval;
* **pain points**: detractors' words placed the same way, and failure demand the stage caused
  (chases about a demand waiting in it, can't-find contacts before it, not-fixed after it);
* **behind the scenes**: the steps recorded, who took them, the time spent there.

Sentences, actions and steps are counted over the latest :data:`SAMPLE` journeys of the
scope (the map says so); counts and times cover every journey. Every figure keeps a few of
the demand ids behind it, so a reader (or an agent) can open them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import Connection, func, select

from ..components import SurveyMethod
from ..model import Stage
from ..settings import ToBeJourney
from ..store import tables as t
from .journeys import JourneyMap, day_filter, day_source, human_duration, journey_map
from .query import D, E, R, Scope, and_all, epoch
from .trends import widened

J = t.journey_stages
T = t.journey_totals

#: How many of the latest journeys the sentence lanes are counted over.
SAMPLE = 2000
#: How many demand ids a figure keeps.
IDS = 5
#: The outcome and what follows it: the time there is the customer's own (to confirm, to answer), never
#: where a journey lost it.
AFTER = (str(Stage.OUTCOME), str(Stage.CONFIRM), str(Stage.FEEDBACK), str(Stage.SHARE))
LOW = ("detractor", "dissatisfied", "hard")

#: Failure demand that is not a chase, and the stage it says something about.
CAUSE_STAGE = {
    "cant_find": Stage.DISCOVER,
    "announced_outage": Stage.DISCOVER,
    "affects_me": Stage.DISCOVER,
    "not_fixed": Stage.OUTCOME,
}
CAUSE_WORDS = {
    "chase": "chased while waiting here",
    "cant_find": "could not find it themselves",
    "announced_outage": "contacted us about an outage we had announced",
    "affects_me": '"this affects me" on an announcement',
    "not_fixed": "told it was fixed, and it was not",
}
ACTION_WORDS = {
    "submitted": "asks",
    "discovered": "finds the service",
    "comment": "writes to us",
    "confirmed": "confirms the outcome",
    "survey": "answers the survey",
    "affects_me": 'says "this affects me"',
    "review": "reviews the service for colleagues",
    "corrected": "corrects what they gave",
    "state": "confirms, or says it is not sorted",
}
_REF = re.compile(r"#\d+")


@attrs.frozen(kw_only=True)
class Count:
    """A thing counted, with a few of the demands behind it."""

    label: str
    n: int
    ids: tuple[int, ...] = ()


@attrs.frozen(kw_only=True)
class Feeling:
    """The survey answers placed on one stage: the method's score with n and interval."""

    method: str
    label: str
    value: float | None
    n: int
    low: float | None
    high: float | None
    ids: tuple[int, ...] = ()


@attrs.frozen(kw_only=True)
class Comment:
    method: str
    score: int
    category: str
    text: str
    demand_id: int | None
    stage: Stage


@attrs.frozen(kw_only=True)
class StageView:
    stage: Stage
    reached: int
    share: float
    ids: tuple[int, ...]
    does: tuple[Count, ...]
    sees: tuple[Count, ...]
    channels: tuple[Count, ...]
    effort: float
    repeats: int  # the customers' comments on demands waiting here (chases)
    feeling: Feeling | None
    comments: tuple[Comment, ...]  # low scores' words placed here
    causes: tuple[Count, ...]  # failure demand this stage caused
    steps: tuple[Count, ...]
    actors: tuple[Count, ...]
    median_seconds: float | None
    p90_seconds: float | None
    dropped: int

    @property
    def channel_total(self) -> int:
        return sum(c.n for c in self.channels) or 1


@attrs.frozen(kw_only=True)
class OutsideIn:
    scope: Scope
    title: str
    as_is: JourneyMap
    stages: tuple[StageView, ...]
    sampled: int  # journeys the sentence lanes were counted over
    method: str | None  # the survey method of the feels lane
    scale: tuple[float | None, float | None] = (None, None)
    comments: tuple[Comment, ...] = ()  # every comment found, for the comments page

    @property
    def empty(self) -> bool:
        return self.as_is.empty

    def stage(self, stage: Stage) -> StageView | None:
        return next((s for s in self.stages if s.stage is stage), None)


def _ids(lo: Any, hi: Any) -> tuple[int, ...]:
    return tuple(sorted({int(v) for v in (lo, hi) if v is not None}))


def _merge(counts: dict[str, list[Any]], label: str, n: int, lo: Any, hi: Any) -> None:
    c = counts.setdefault(_REF.sub("#…", label), [0, set()])  # "your question (#12)": one sentence, many demands
    c[0] += n
    c[1].update(int(v) for v in (lo, hi) if v is not None)


def _top(counts: Mapping[str, list[Any]], k: int = 3) -> tuple[Count, ...]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]
    return tuple(Count(label=label, n=c[0], ids=tuple(sorted(c[1]))[:IDS]) for label, c in ranked)


def outside_in(
    conn: Connection,
    scope: Scope,
    methods: Mapping[str, SurveyMethod],
    *,
    title: str = "",
    as_is: JourneyMap | None = None,
) -> OutsideIn:
    """The outside-in map of ``scope`` (usually one service), from the rollup and a sample of the latest events."""
    m = as_is if as_is is not None else journey_map(conn, scope)
    title = title or scope.describe()
    if m.empty:
        return OutsideIn(scope=scope, title=title, as_is=m, stages=(), sampled=0, method=None)
    # the sentence lanes: the latest journeys' events, counted in the database
    recent = select(D.c.id).where(and_all(scope.demand_filter())).order_by(D.c.id.desc()).limit(SAMPLE).subquery()
    sampled = min(m.journeys, SAMPLE)
    does: dict[str, dict[str, list[Any]]] = {}
    sees: dict[str, dict[str, list[Any]]] = {}
    steps: dict[str, dict[str, list[Any]]] = {}
    actors: dict[str, dict[str, list[Any]]] = {}
    ids: dict[str, set[int]] = {}
    for r in conn.execute(
        select(
            E.c.stage,
            E.c.actor,
            E.c.kind,
            E.c.customer_sees,
            E.c.behind_scenes,
            func.count().label("n"),
            func.min(E.c.demand_id).label("lo"),
            func.max(E.c.demand_id).label("hi"),
        )
        .where(E.c.demand_id.in_(select(recent.c.id)))
        .group_by(E.c.stage, E.c.actor, E.c.kind, E.c.customer_sees, E.c.behind_scenes)
    ):
        n = int(r.n)
        ids.setdefault(r.stage, set()).update(_ids(r.lo, r.hi))
        if r.actor == "customer":
            _merge(does.setdefault(r.stage, {}), ACTION_WORDS.get(r.kind, r.kind.replace("_", " ")), n, r.lo, r.hi)
        else:
            _merge(actors.setdefault(r.stage, {}), r.actor, n, r.lo, r.hi)
        if r.customer_sees:
            _merge(sees.setdefault(r.stage, {}), r.customer_sees, n, r.lo, r.hi)
        if r.behind_scenes:
            _merge(steps.setdefault(r.stage, {}), r.behind_scenes, n, r.lo, r.hi)
    # repeat contacts: the customers' comments on demands waiting in each stage (all journeys)
    source, cols = day_source(scope)
    repeats = {
        str(r.stage): int(r.c or 0)
        for r in conn.execute(
            select(source.c.stage, cols["comments"].label("c"))
            .where(*day_filter(scope, source))
            .group_by(source.c.stage)
        )
    }
    # survey answers, each placed on the stage its journey spent longest in before the outcome
    r_where = and_all(scope.filters(R.c.at, R.c.service_key, D.c.kind))  # D only joined when a kind is asked for
    # the stage each answered journey spent longest in (ties: the earlier), kept per journey by the
    # rollup and looked up per answer through its primary key
    pain_stage = select(T.c.pain_stage).where(T.c.demand_id == R.c.demand_id).correlate(R).scalar_subquery()
    answers = R.join(D, D.c.id == R.c.demand_id) if scope.kind else R

    def placed(*columns: Any, where: Any = True) -> Any:
        """The answers in scope with the stage they are placed on (answers without a journey are left out)."""
        return (
            select(*columns, pain_stage.label("stage"))
            .select_from(answers)
            .where(r_where, R.c.demand_id.is_not(None), where)
        )

    # looked up once per answer, not once per mention of the column (SQLite would inline it thrice)
    pain = placed(R.c.method, R.c.score, R.c.demand_id).cte("placed")
    if _materialized(conn):
        pain = pain.prefix_with("MATERIALIZED")
    hist: dict[tuple[str, str], dict[int, int]] = {}
    answer_ids: dict[tuple[str, str], set[int]] = {}
    per_method: dict[str, int] = {}
    for r in conn.execute(
        select(
            pain.c.method,
            pain.c.stage,
            pain.c.score,
            func.count().label("n"),
            func.min(pain.c.demand_id).label("lo"),
            func.max(pain.c.demand_id).label("hi"),
        )
        .where(pain.c.stage.is_not(None))
        .group_by(pain.c.method, pain.c.stage, pain.c.score)
    ):
        hist.setdefault((r.method, r.stage), {})[int(r.score)] = int(r.n)
        answer_ids.setdefault((r.method, r.stage), set()).update(_ids(r.lo, r.hi))
        per_method[r.method] = per_method.get(r.method, 0) + int(r.n)
    method_name = max((k for k in per_method if k in methods), key=lambda k: per_method[k], default=None)
    feelings: dict[str, Feeling] = {}
    scale: tuple[float | None, float | None] = (None, None)
    if method_name is not None:
        method = methods[method_name]
        from .trends import scale_ends

        scale = scale_ends(method)
        for (name, stage), counts in hist.items():
            if name != method_name:
                continue
            score = method.summarise(counts)
            low, high = widened(method, score)
            feelings[stage] = Feeling(
                method=name,
                label=score.label or name.upper(),
                value=score.value,
                n=score.n,
                low=low,
                high=high,
                ids=tuple(sorted(answer_ids[(name, stage)]))[:IDS],
            )
    # the customers' own words, placed the same way, latest first
    comments: list[Comment] = []
    said_words = placed(
        R.c.method, R.c.score, R.c.comment, R.c.demand_id, R.c.at, R.c.id, where=R.c.comment != ""
    ).subquery()
    for r in conn.execute(
        select(said_words)
        .where(said_words.c.stage.is_not(None))
        .order_by(said_words.c.at.desc(), said_words.c.id.desc())
        .limit(400)
    ):
        said = methods.get(r.method)
        if said is None:
            continue
        comments.append(
            Comment(
                method=r.method,
                score=int(r.score),
                category=said.category(int(r.score)),
                text=r.comment,
                demand_id=r.demand_id,
                stage=Stage(r.stage),
            )
        )
    # failure demand attributed to a stage: chases by the stage their demand waited in, causes by what they mean
    causes: dict[str, dict[str, list[Any]]] = {}
    original = D.alias("original")
    chased = D.alias("chase")
    waiting_in = (
        select(J.c.stage)
        .where(J.c.demand_id == chased.c.caused_by, J.c.entered <= epoch(conn, chased.c.created_at))
        .order_by(J.c.entered.desc(), J.c.pos.desc())
        .limit(1)
        .scalar_subquery()
    )
    o_where = scope.filters(original.c.created_at, original.c.service_key, original.c.kind)
    for r in conn.execute(
        select(
            waiting_in.label("stage"),
            func.count().label("n"),
            func.min(chased.c.id).label("lo"),
            func.max(chased.c.id).label("hi"),
        )
        .select_from(chased.join(original, original.c.id == chased.c.caused_by))
        .where(and_all(o_where), chased.c.cause == "chase")
        .group_by(waiting_in)
    ):
        _merge(causes.setdefault(str(r.stage or Stage.FULFIL), {}), CAUSE_WORDS["chase"], int(r.n), r.lo, r.hi)
    for r in conn.execute(
        select(D.c.cause, func.count().label("n"), func.min(D.c.id).label("lo"), func.max(D.c.id).label("hi"))
        .where(and_all(scope.demand_filter()), D.c.cause.in_(list(CAUSE_STAGE)))
        .group_by(D.c.cause)
    ):
        stage = CAUSE_STAGE[r.cause]
        _merge(causes.setdefault(str(stage), {}), CAUSE_WORDS[r.cause], int(r.n), r.lo, r.hi)
    views = []
    for fig in m.stages:
        key = str(fig.stage)
        here = [c for c in comments if c.stage is fig.stage and c.category in LOW]
        views.append(
            StageView(
                stage=fig.stage,
                reached=fig.reached,
                share=fig.share,
                ids=tuple(sorted(ids.get(key, set())))[:IDS],
                does=_top(does.get(key, {})),
                sees=_top(sees.get(key, {})),
                channels=tuple(Count(label=c, n=n) for c, n in fig.channels.items()),
                effort=fig.effort,
                repeats=repeats.get(key, 0),
                feeling=feelings.get(key),
                comments=tuple(here[:3]),
                causes=_top(causes.get(key, {})),
                steps=_top(steps.get(key, {})),
                actors=_top(actors.get(key, {})),
                median_seconds=fig.median_seconds,
                p90_seconds=fig.p90_seconds,
                dropped=fig.dropped,
            )
        )
    return OutsideIn(
        scope=scope,
        title=title,
        as_is=m,
        stages=tuple(views),
        sampled=sampled,
        method=method_name,
        scale=scale,
        comments=tuple(comments),
    )


# ---------------------------------------------------------------------------- as-is against to-be


@attrs.frozen(kw_only=True)
class GapMark:
    """One difference between the as-is and the to-be journey, sized by the customers it touches."""

    stage: Stage
    kind: str  # "extra step", "missing step", "slow stage", "wrong channel", "effort"
    detail: str
    size: str  # how far off, in the gap's own unit
    customers: int  # journeys it touched
    ids: tuple[int, ...] = ()

    @property
    def headline(self) -> str:
        return f"{self.stage}: {self.kind}, {self.size}"


def compare(conn: Connection, oi: OutsideIn, to_be: ToBeJourney) -> list[GapMark]:
    """Every gap between ``oi`` and ``to_be``, largest number of customers touched first."""
    scope = oi.scope
    js = and_all(scope.filters(J.c.created_at, J.c.service_key, J.c.kind))
    designed = {s.stage: s for s in to_be.stages}
    out: list[GapMark] = []

    def touched(*where: Any) -> tuple[int, tuple[int, ...]]:
        row = conn.execute(
            select(func.count(), func.min(J.c.demand_id), func.max(J.c.demand_id)).where(js, *where)
        ).one()
        return int(row[0] or 0), _ids(row[1], row[2])

    for view in oi.stages:
        target = designed.get(view.stage)
        if target is None:
            if view.reached:
                out.append(
                    GapMark(
                        stage=view.stage,
                        kind="extra step",
                        detail=f"{view.share:.0%} of journeys pass through {view.stage}, which the design does not have",
                        size=f"{view.share:.0%} of journeys",
                        customers=view.reached,
                        ids=view.ids,
                    )
                )
            continue
        if target.seconds is not None and view.median_seconds is not None and view.median_seconds > target.seconds:
            if view.stage is Stage.OUTCOME:
                row = conn.execute(
                    select(func.count(), func.min(T.c.demand_id), func.max(T.c.demand_id)).where(
                        and_all(scope.filters(T.c.created_at, T.c.service_key, T.c.kind)),
                        T.c.outcome_secs > target.seconds,
                    )
                ).one()
                n, ids = int(row[0] or 0), _ids(row[1], row[2])
            else:
                n, ids = touched(J.c.stage == str(view.stage), J.c.secs > target.seconds)
            out.append(
                GapMark(
                    stage=view.stage,
                    kind="slow stage",
                    detail=f"median {human_duration(view.median_seconds)} against a target of {target.within}",
                    size=f"{human_duration(view.median_seconds - target.seconds)} over at the median",
                    customers=n,
                    ids=ids,
                )
            )
        if target.effort is not None and view.effort > target.effort:
            n, ids = touched(J.c.stage == str(view.stage), J.c.effort > target.effort)
            out.append(
                GapMark(
                    stage=view.stage,
                    kind="effort",
                    detail=f"customer effort {view.effort:.1f} against a target of {target.effort}",
                    size=f"+{view.effort - target.effort:.1f} effort per journey",
                    customers=n,
                    ids=ids,
                )
            )
        if target.channels:
            off = [c for c in view.channels if c.label not in target.channels]
            total = view.channel_total
            share = sum(c.n for c in off) / total
            if off and share >= 0.05:
                n, ids = touched(J.c.stage == str(view.stage), J.c.channel.not_in(list(target.channels)))
                out.append(
                    GapMark(
                        stage=view.stage,
                        kind="wrong channel",
                        detail=f"{share:.0%} begin in {', '.join(sorted(c.label for c in off))}, "
                        f"not in {', '.join(target.channels)}",
                        size=f"{share:.0%} off-channel",
                        customers=n,
                        ids=ids,
                    )
                )
    reached = {v.stage for v in oi.stages}
    for stage in designed:
        if stage not in reached:
            out.append(
                GapMark(
                    stage=stage,
                    kind="missing step",
                    detail=f"the design has {stage}, which no journey reaches",
                    size="0% reach it",
                    customers=oi.as_is.journeys,
                )
            )
    out.sort(key=lambda g: (-g.customers, g.stage.position, g.kind))
    return out


def to_be_stages(oi: OutsideIn, to_be: ToBeJourney | None) -> list[Stage]:
    """The columns both maps share: every stage of either journey, in journey order."""
    stages = {v.stage for v in oi.stages} | ({s.stage for s in to_be.stages} if to_be is not None else set())
    return sorted(stages, key=lambda s: s.position)


# ---------------------------------------------------------------------------- anonymised comments

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_NUMBER = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_URL = re.compile(r"https?://\S+")


def anonymise(text: str, names: Sequence[str] = ()) -> str:
    """A comment fit to print for a workshop: addresses, numbers, links and the given names taken out."""
    text = _EMAIL.sub("[email]", text)
    text = _URL.sub("[link]", text)
    text = _NUMBER.sub("[number]", text)
    for name in sorted({n for n in names if len(n) > 2}, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", "[name]", text, flags=re.IGNORECASE)
    return text


def as_dict(oi: OutsideIn, gap_marks: Sequence[GapMark] = ()) -> dict[str, Any]:
    def counts(cs: Sequence[Count]) -> list[dict[str, Any]]:
        return [{"label": c.label, "n": c.n, "demands": list(c.ids)} for c in cs]

    return {
        "id": f"outside-in:{oi.scope.describe()}",
        "title": oi.title,
        "journeys": oi.as_is.journeys,
        "sampled": oi.sampled,
        "method": oi.method,
        "stages": [
            {
                "stage": str(v.stage),
                "moment": str(v.stage.moment),
                "reached": v.reached,
                "share": v.share,
                "demands": list(v.ids),
                "does": counts(v.does),
                "sees": counts(v.sees),
                "touchpoints": [{"channel": c.label, "n": c.n, "share": c.n / v.channel_total} for c in v.channels],
                "effort": v.effort,
                "repeat_contacts": v.repeats,
                "feels": None if v.feeling is None else attrs.asdict(v.feeling) | {"demands": list(v.feeling.ids)},
                "pain_points": {
                    "comments": [
                        {"score": c.score, "method": c.method, "text": c.text, "demand": c.demand_id}
                        for c in v.comments
                    ],
                    "failure_demand": counts(v.causes),
                },
                "behind_the_scenes": {
                    "steps": counts(v.steps),
                    "who": counts(v.actors),
                    "median_seconds": v.median_seconds,
                    "p90_seconds": v.p90_seconds,
                    "dropped": v.dropped,
                },
            }
            for v in oi.stages
        ],
        "gaps": [
            {
                "stage": str(g.stage),
                "kind": g.kind,
                "detail": g.detail,
                "size": g.size,
                "customers": g.customers,
                "demands": list(g.ids),
            }
            for g in gap_marks
        ],
    }


__all__ = [
    "Comment",
    "Count",
    "Feeling",
    "GapMark",
    "OutsideIn",
    "StageView",
    "anonymise",
    "as_dict",
    "compare",
    "outside_in",
    "to_be_stages",
]


def _materialized(conn: Connection) -> bool:
    """Whether the database takes ``WITH x AS MATERIALIZED`` (PostgreSQL 12+, SQLite 3.35+)."""
    if conn.dialect.name == "postgresql":
        return True
    if conn.dialect.name == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version_info >= (3, 35)
    return False
