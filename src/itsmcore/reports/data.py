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
from .consistency import as_dicts as consistency_dicts
from .failure import as_dicts as failure_dicts
from .journeys import as_dict as journeys_dict
from .outside_in import as_dict as outside_in_dict
from .repeats import as_dict as repeats_dict
from .repeats import repeat_incidents
from .reviews import as_dicts as review_dicts
from .surveys import as_dicts as survey_dicts
from .trends import as_dict as trends_dict

if TYPE_CHECKING:
    from ..desk import Desk


def _journeys_data(desk: Desk, scope: Scope) -> Any:
    m, g = journey_report(desk, scope)
    return journeys_dict(m, g)


def _outside_in_data(desk: Desk, scope: Scope) -> Any:
    oi, marks = outside_in_report(desk, scope)
    return outside_in_dict(oi, marks)


def _surveys_data(desk: Desk, scope: Scope) -> Any:
    rows, _ = survey_report(desk, scope, DIMENSIONS)
    return survey_dicts(rows)


#: Each report by name, and how to get its data.
_REPORTS: dict[str, Callable[[Desk, Scope], Any]] = {
    "journeys": _journeys_data,
    "outside-in": _outside_in_data,
    "surveys": _surveys_data,
    "reviews": lambda desk, scope: review_dicts(review_report(desk, scope)),
    "failure-demand": lambda desk, scope: failure_dicts(failure_demand_report(desk, scope)),
    "consistency": lambda desk, scope: consistency_dicts(consistency_report(desk, scope)),
    "trends": lambda desk, scope: trends_dict(trend_report(desk, scope)),
    "repeat-incidents": lambda desk, scope: repeats_dict(repeat_incidents(desk, scope)),
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
