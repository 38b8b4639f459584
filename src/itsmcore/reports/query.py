"""SQL building blocks shared by the reports: filters, durations and percentiles in the database.

Every report aggregates where the rows are; percentiles are index seeks on the journey
rollup (see :mod:`.rollup`), so no report pulls events into Python to sort them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import attrs
from sqlalchemy import ColumnElement, Connection, and_, func, literal_column

from ..store import tables as t

D = t.demands
E = t.journey_events
R = t.survey_responses


@attrs.frozen(kw_only=True)
class Scope:
    """Which journeys a report is about: demands created in [since, until), of a service and a kind."""

    since: datetime | None = None
    until: datetime | None = None
    service: str | None = None
    kind: str | None = None

    def demand_filter(self) -> list[ColumnElement[bool]]:
        return self.filters(D.c.created_at, D.c.service_key, D.c.kind)

    def filters(self, when: Any, service: Any, kind: Any) -> list[ColumnElement[bool]]:
        """The scope as conditions on any table's time, service and kind columns."""
        out: list[ColumnElement[bool]] = []
        if self.since is not None:
            out.append(when >= self.since)
        if self.until is not None:
            out.append(when < self.until)
        if self.service:
            out.append(service == self.service)
        if self.kind:
            out.append(kind == self.kind)
        return out

    def describe(self) -> str:
        parts = []
        if self.service:
            parts.append(f"service {self.service}")
        if self.kind:
            parts.append(f"{self.kind} demand")
        if self.since or self.until:
            since = self.since.date().isoformat() if self.since else "the start"
            until = self.until.date().isoformat() if self.until else "now"
            parts.append(f"from {since} to {until}")
        return ", ".join(parts) or "all journeys"


def epoch(conn: Connection, column: Any) -> ColumnElement[float]:
    """Seconds since the epoch of a timestamp column, in this database's dialect."""
    if conn.dialect.name == "postgresql":
        return func.extract("epoch", column)  # type: ignore[return-value]
    return (func.julianday(column) - 2440587.5) * 86400.0


def month(conn: Connection, column: Any) -> ColumnElement[str]:
    """The year and month of a timestamp as 'YYYY-MM'."""
    if conn.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.substr(column, 1, 7)  # stored as 'YYYY-MM-DD HH:MM:SS...': no date parsing per row


def utc_day(conn: Connection, column: Any) -> ColumnElement[str]:
    """The UTC day of a timestamp as 'YYYY-MM-DD': cheap to group by, folded into weeks or months by :func:`bucket_of`."""
    if conn.dialect.name == "postgresql":
        return func.to_char(column.op("AT TIME ZONE")(literal_column("'UTC'")), "YYYY-MM-DD")
    return func.substr(column, 1, 10)  # stored in UTC as 'YYYY-MM-DD HH:MM:SS...'


@lru_cache(maxsize=8192)
def bucket_of(day: str, period: str) -> str:
    """The week (its Monday, 'YYYY-MM-DD') or month ('YYYY-MM') of a day given as 'YYYY-MM-DD'."""
    if period != "week":
        return day[:7]
    d = date.fromisoformat(day[:10])
    return (d - timedelta(days=d.weekday())).isoformat()


def and_all(clauses: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    return and_(True, *clauses)
