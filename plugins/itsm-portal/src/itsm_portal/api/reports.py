"""The reports as JSON: the same data ``itsm report NAME --format json`` prints, over a scope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import attrs
import msgspec
from itsmcore import REPORT_NAMES, InvalidAnswers, report_data

from .routing import Call, operation

Day = Annotated[str | None, msgspec.Meta(description="a date (2026-03-01) or an ISO 8601 timestamp")]


@attrs.frozen(kw_only=True)
class ReportQuery:
    since: Day = None
    until: Annotated[Day, msgspec.Meta(description="up to, not including; a bare date means the end of that day")] = (
        None
    )
    service: Annotated[str | None, msgspec.Meta(description="only this service (its key)")] = None
    kind: Literal["value", "failure", "information"] | None = None


@attrs.frozen(kw_only=True)
class ReportScope:
    since: str | None
    until: str | None
    service: str | None
    kind: str | None


@attrs.frozen(kw_only=True)
class ReportOut:
    """A report's data: its shape is the report's own, as ``itsm report NAME --format json`` prints it."""

    report: str
    scope: ReportScope
    data: Any


@attrs.frozen(kw_only=True)
class ReportList:
    reports: list[str]


def _when(name: str, value: str | None, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidAnswers({name: "expected a date like 2026-03-01 or an ISO 8601 timestamp"}) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if end and len(value) == 10:
        when = when.replace(hour=23, minute=59, second=59, microsecond=999999)
    return when


@operation("GET", "/reports", scope="read", answer=ReportList, summary="The reports there are")
def list_reports(call: Call) -> ReportList:
    return ReportList(reports=list(REPORT_NAMES))


@operation(
    "GET",
    "/reports/{name}",
    scope="read",
    query=ReportQuery,
    answer=ReportOut,
    summary="A report's data over the demands created in [since, until), of a service and kind",
)
def read_report(call: Call) -> ReportOut:
    q: ReportQuery = call.query
    name = call.path["name"]
    if name not in REPORT_NAMES:
        from itsmcore import NotFound

        raise NotFound(f"no report {name!r}; the reports are {', '.join(REPORT_NAMES)}")
    since, until = _when("since", q.since), _when("until", q.until, end=True)
    if since and until and since >= until:
        raise InvalidAnswers({"since": f"{q.since} is not before until {q.until}"})
    data = report_data(call.desk, name, since=since, until=until, service=q.service, kind=q.kind)
    return ReportOut(
        report=name,
        scope=ReportScope(since=q.since, until=q.until, service=q.service, kind=q.kind),
        data=data,
    )
