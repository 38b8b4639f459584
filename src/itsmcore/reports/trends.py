"""Change over time: survey scores, failure-demand share, self-service, time to outcome, better than last time.

Each series has one point per week or month in which demands were created (survey
answers by when they were given). Counts are grouped per UTC day in the database (a few
rows per day come back, however many events lie behind them) and folded into weeks or
months here; SQLite's times to outcome come back one per journey, to be sorted per bucket
(cheaper there than its window over every row), PostgreSQL ranks them itself. A point carries its
sample size and, for survey scores, the method's 95 % interval; a single answer gives
the widest interval the scale allows, never a division by zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs
from sqlalchemy import Connection, and_, case, func, literal_column, select

from ..components import SurveyMethod
from ..store import tables as t
from .consistency import paired_experiences
from .failure import CATEGORIES, categorised
from .journeys import day_filter, day_source
from .query import D, Scope, and_all, bucket_of, utc_day
from .surveys import AnswerCounts, answer_counts

T = t.journey_totals


@attrs.frozen(kw_only=True)
class Point:
    bucket: str  # 'YYYY-MM' or the Monday of the week, 'YYYY-MM-DD'
    value: float | None
    n: int
    low: float | None = None
    high: float | None = None


@attrs.frozen(kw_only=True)
class Series:
    key: str  # "nps", "csat", "failure_share", ...
    label: str
    unit: str  # "", "%", "s"
    points: tuple[Point, ...]
    better: str = "up"  # which way is better: "up" or "down"
    low: float | None = None  # the scale's ends, when it has them (survey methods)
    high: float | None = None

    @property
    def empty(self) -> bool:
        return not any(p.value is not None for p in self.points)


@attrs.frozen(kw_only=True)
class Trends:
    scope: Scope
    period: str  # "week" or "month"
    buckets: tuple[str, ...]
    series: tuple[Series, ...]

    @property
    def empty(self) -> bool:
        return not self.buckets


def bucket_expr(conn: Connection, column: Any, period: str) -> Any:
    """The week (its Monday, 'YYYY-MM-DD') or month ('YYYY-MM') of a timestamp, in UTC, in this dialect."""
    if conn.dialect.name == "postgresql":
        utc = column.op("AT TIME ZONE")(literal_column("'UTC'"))
        if period == "week":
            return func.to_char(func.date_trunc("week", utc), "YYYY-MM-DD")
        return func.to_char(utc, "YYYY-MM")
    day = func.substr(column, 1, 10)
    if period == "week":
        return func.date(day, "weekday 0", "-6 days")
    return func.substr(column, 1, 7)


def choose_period(conn: Connection, scope: Scope) -> str:
    """Weeks for up to half a year of demands, months beyond."""
    lo, hi = conn.execute(
        select(func.min(D.c.created_at), func.max(D.c.created_at)).where(*scope.demand_filter())
    ).one()
    if lo is None or hi is None:
        return "week"
    if isinstance(lo, str):  # a dialect that hands timestamps back as text
        return "week"
    return "week" if (hi - lo) <= timedelta(days=183) else "month"


def scale_ends(method: SurveyMethod) -> tuple[float | None, float | None]:
    """The method's headline figure when every answer is its lowest, and when every answer is its highest."""
    ends = [method.summarise({method.low: 1}).value, method.summarise({method.high: 1}).value]
    known = [e for e in ends if e is not None]
    return (min(known), max(known)) if known else (None, None)


def widened(method: SurveyMethod, score: Any) -> tuple[float | None, float | None]:
    """The method's interval; one answer (or none) says nothing about spread: the whole scale."""
    if score.n <= 1 or score.low is None or score.high is None:
        return scale_ends(method)
    return score.low, score.high


def survey_series(
    conn: Connection,
    scope: Scope,
    methods: Mapping[str, SurveyMethod],
    period: str,
    answers: AnswerCounts | None = None,
) -> dict[str, list[tuple[str, Point]]]:
    """Per method, its score per bucket with n and interval (folded from ``answers`` when they are of ``scope``)."""
    if answers is None or answers.scope != scope:
        answers = answer_counts(conn, scope)
    hist: dict[tuple[str, str], dict[int, int]] = {}
    for key, n in answers.counts.items():
        counts = hist.setdefault((key[0], bucket_of(str(key[2]), period)), {})
        counts[int(key[1])] = counts.get(int(key[1]), 0) + n
    out: dict[str, list[tuple[str, Point]]] = {}
    for (name, b), counts in sorted(hist.items()):
        method = methods.get(name)
        if method is None:
            continue
        score = method.summarise(counts)
        low, high = widened(method, score)
        out.setdefault(name, []).append((b, Point(bucket=b, value=score.value, n=score.n, low=low, high=high)))
    return out


def trends(
    conn: Connection,
    scope: Scope,
    methods: Mapping[str, SurveyMethod],
    period: str | None = None,
    answers: AnswerCounts | None = None,
) -> Trends:
    """Every series of the trend page for ``scope``, per ``period`` (chosen from the span when None).

    Each figure is grouped per UTC day in the database and folded into weeks or months
    here (cheaper than working out each row's week in SQL); ``answers``, when given,
    are the scope's survey answers already counted (see :func:`.surveys.answer_counts`).
    """
    period = period or choose_period(conn, scope)
    series: list[Series] = []
    buckets: set[str] = set()
    # survey methods: NPS, CSAT, CES, a vendor's own
    for name, pts in survey_series(conn, scope, methods, period, answers).items():
        method = methods[name]
        low, high = scale_ends(method)
        series.append(
            Series(
                key=name,
                label=method.summarise({method.high: 1}).label or name.upper(),
                unit="",
                points=tuple(p for _b, p in pts),
                low=low,
                high=high,
            )
        )
    # demands per bucket: how many, self-service share
    day = utc_day(conn, D.c.created_at)
    per: dict[str, tuple[int, int]] = {}
    for r in conn.execute(
        select(day.label("d"), func.count().label("n"), func.sum(case((D.c.self_service.is_(True), 1), else_=0)))
        .where(and_all(scope.demand_filter()))
        .group_by(day)
    ):
        b = bucket_of(str(r.d), period)
        n, self_served = per.get(b, (0, 0))
        per[b] = (n + int(r.n), self_served + int(r[2] or 0))
    buckets |= set(per)
    # failure-demand share: each contact's category (as the failure-demand report counts it), per bucket
    p, category = categorised(conn)
    pd = utc_day(conn, p.created_at)
    failing = [c for c, (is_failure, _means) in CATEGORIES.items() if is_failure]
    contacts: dict[str, list[int]] = {}
    for r in conn.execute(
        select(pd.label("d"), func.count(), func.sum(case((category.in_(failing), 1), else_=0)))
        .where(and_all(scope.filters(p.created_at, p.service_key, p.kind)))
        .group_by(pd)
    ):
        c = contacts.setdefault(bucket_of(str(r.d), period), [0, 0])
        c[0] += int(r[1])
        c[1] += int(r[2] or 0)
    # the customers' chases (comments on demands they wait for) are contacts and failure demand too:
    # from the day buckets for whole days, else from the rollup
    source, _cols = day_source(scope)
    jd = source.c.day if source is t.journey_days else utc_day(conn, source.c.created_at)
    for r in conn.execute(
        select(jd.label("d"), func.sum(source.c.comments))
        .where(and_all(day_filter(scope, source)), source.c.comments > 0)
        .group_by(jd)
    ):
        c = contacts.setdefault(bucket_of(str(r.d), period), [0, 0])
        c[0] += int(r[1] or 0)
        c[1] += int(r[1] or 0)
    # time to outcome: the median per bucket, by rank within each bucket (one sort in the database)
    medians = outcome_medians(conn, scope, period)
    # better than last time: each experience against the customer's previous one, counted by its bucket
    paired, worse = paired_experiences(scope)
    cd = utc_day(conn, paired.c.created_at)
    current = [paired.c.prev_id.is_not(None)]
    if scope.since is not None:
        current.append(paired.c.created_at >= scope.since)
    if scope.until is not None:
        current.append(paired.c.created_at < scope.until)
    consistent: dict[str, tuple[int, int]] = {}
    for r in conn.execute(
        select(cd.label("d"), func.count().label("n"), func.sum(case((worse, 1), else_=0)).label("worse"))
        .where(and_(True, *current))
        .group_by(cd)
    ):
        b = bucket_of(str(r.d), period)
        n, w = consistent.get(b, (0, 0))
        consistent[b] = (n + int(r.n), w + int(r.worse or 0))
    every = sorted(buckets | set(contacts) | set(medians) | {b for s in series for b in (p.bucket for p in s.points)})
    series.append(
        Series(
            key="failure_share",
            label="failure demand",
            unit="%",
            better="down",
            points=tuple(
                Point(bucket=b, value=100 * f[1] / f[0], n=f[0]) for b in every if (f := contacts.get(b)) and f[0]
            ),
        )
    )
    series.append(
        Series(
            key="self_service_share",
            label="self-service",
            unit="%",
            points=tuple(Point(bucket=b, value=100 * v[1] / v[0], n=v[0]) for b in every if (v := per.get(b)) and v[0]),
        )
    )
    series.append(
        Series(
            key="outcome_median",
            label="median time to outcome",
            unit="s",
            better="down",
            points=tuple(Point(bucket=b, value=m[0], n=m[1]) for b in every if (m := medians.get(b))),
        )
    )
    series.append(
        Series(
            key="better_than_last_time",
            label="as good as last time or better",
            unit="%",
            points=tuple(
                Point(bucket=b, value=100 * (k[0] - k[1]) / k[0], n=k[0]) for b in every if (k := consistent.get(b))
            ),
        )
    )
    return Trends(scope=scope, period=period, buckets=tuple(every), series=tuple(series))


def outcome_medians(conn: Connection, scope: Scope, period: str) -> dict[str, tuple[float, int]]:
    """Per bucket, the nearest-rank median of time to outcome of the resolved journeys created in it, and how many.

    SQLite hands over each journey's day and time (two small columns) to be sorted per bucket
    here, in less time than its window over every row takes; PostgreSQL ranks them itself.
    """
    where = [*scope.filters(T.c.created_at, T.c.service_key, T.c.kind), T.c.outcome_secs.is_not(None)]
    if conn.dialect.name != "postgresql":
        per: dict[str, list[float]] = {}
        for day, secs in conn.execute(select(utc_day(conn, T.c.created_at), T.c.outcome_secs).where(*where)):
            values = per.get(b := bucket_of(str(day), period))
            if values is None:
                per[b] = values = []
            values.append(float(secs))
        out: dict[str, tuple[float, int]] = {}
        for b, values in per.items():
            values.sort()
            out[b] = (values[(len(values) * 50 + 99) // 100 - 1], len(values))
        return out
    tb = bucket_expr(conn, T.c.created_at, period)
    rows = select(tb.label("b"), T.c.outcome_secs.label("secs")).where(*where).subquery()
    ranked = select(
        rows.c.b,
        rows.c.secs,
        func.row_number().over(partition_by=rows.c.b, order_by=rows.c.secs).label("rn"),
        func.count().over(partition_by=rows.c.b).label("n"),
    ).subquery()
    return {
        str(r.b): (float(r.secs), int(r.n))
        for r in conn.execute(
            select(ranked.c.b, ranked.c.secs, ranked.c.n).where(ranked.c.rn == (ranked.c.n * 50 + 99) // 100)
        )
    }


def as_dict(tr: Trends) -> dict[str, Any]:
    return {
        "id": f"trends:{tr.scope.describe()}",
        "scope": tr.scope.describe(),
        "period": tr.period,
        "buckets": list(tr.buckets),
        "series": [
            {
                "key": s.key,
                "label": s.label,
                "unit": s.unit,
                "better": s.better,
                "points": [attrs.asdict(p) for p in s.points],
            }
            for s in tr.series
        ],
    }


def as_rows(tr: Trends) -> list[dict[str, Any]]:
    return [
        {"series": s.key, "bucket": p.bucket, "value": p.value, "n": p.n, "low": p.low, "high": p.high}
        for s in tr.series
        for p in s.points
    ]
