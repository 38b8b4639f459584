"""The reports as plain JSON-ready data, by name: what ``itsm report NAME --format json`` prints.

For callers that may not import :mod:`itsmcore.reports` (plugins: the portal's JSON API):
one function takes the report's name and its scope and returns lists, dicts, numbers and
strings only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import (
    DIMENSIONS,
    Scope,
    consistency_report,
    failure_demand_report,
    journey_report,
    outside_in_report,
    review_report,
    survey_report,
    trend_report,
)
from . import consistency as _consistency
from . import failure as _failure
from . import journeys as _journeys
from . import outside_in as _outside_in
from . import reviews as _reviews
from . import surveys as _surveys
from . import trends as _trends

if TYPE_CHECKING:
    from ..desk import Desk


def _journeys_data(desk: Desk, scope: Scope) -> Any:
    m, g = journey_report(desk, scope)
    return _journeys.as_dict(m, g)


def _outside_in_data(desk: Desk, scope: Scope) -> Any:
    oi, marks = outside_in_report(desk, scope)
    return _outside_in.as_dict(oi, marks)


def _surveys_data(desk: Desk, scope: Scope) -> Any:
    rows, _ = survey_report(desk, scope, DIMENSIONS)
    return _surveys.as_dicts(rows)


#: Each report by name, and how to get its data.
_REPORTS: dict[str, Callable[[Desk, Scope], Any]] = {
    "journeys": _journeys_data,
    "outside-in": _outside_in_data,
    "surveys": _surveys_data,
    "reviews": lambda desk, scope: _reviews.as_dicts(review_report(desk, scope)),
    "failure-demand": lambda desk, scope: _failure.as_dicts(failure_demand_report(desk, scope)),
    "consistency": lambda desk, scope: _consistency.as_dicts(consistency_report(desk, scope)),
    "trends": lambda desk, scope: _trends.as_dict(trend_report(desk, scope)),
}

#: The names :func:`report_data` knows.
REPORT_NAMES: tuple[str, ...] = tuple(_REPORTS)


def report_data(
    desk: Desk,
    name: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    service: str | None = None,
    kind: str | None = None,
) -> Any:
    """The report ``name`` (one of :data:`REPORT_NAMES`) over demands created in [since, until) as JSON-ready data.

    ``ValueError`` for a name it does not know; ``UnknownService`` (404) for a service
    the catalog does not have.
    """
    make = _REPORTS.get(name)
    if make is None:
        raise ValueError(f"unknown report {name!r}; one of {', '.join(REPORT_NAMES)}")
    if service:
        desk.get_service(service)
    data = make(desk, Scope(since=since, until=until, service=service, kind=kind))
    return json.loads(json.dumps(data, default=str))  # dates and enums as text, as the JSON format prints them
