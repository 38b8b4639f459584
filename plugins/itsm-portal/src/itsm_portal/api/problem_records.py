"""Problems and known errors: list, open, read, link and unlink incidents and announcements, move, resolve.

Only incidents can be linked (a request or a question is refused with 422); an incident
of a service the problem is not about is linked and marked ``other_service``. A move the
lifecycle does not allow is 409 with ``state`` and ``allowed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import attrs
import msgspec
from itsmcore import ProblemState

from .routing import Call, Text, operation
from .shapes import AnnouncementOut, announcement_out, when

if TYPE_CHECKING:
    StateName = str
else:  # the core's names, so the document lists them and a wrong one is refused naming them
    StateName = Literal[tuple(str(s) for s in ProblemState)]

DemandId = Annotated[int, msgspec.Meta(ge=1, le=10**18 - 1, description="the incident's demand number")]
AnnouncementId = Annotated[int, msgspec.Meta(ge=1, le=10**18 - 1, description="the announcement's number")]


@attrs.frozen(kw_only=True)
class LinkedIncident:
    demand: int
    service: str | None
    other_service: bool
    linked_by: str
    linked_at: str | None


@attrs.frozen(kw_only=True)
class ProblemOut:
    """A problem; ``article`` is the knowledge article its known error's workaround is published as."""

    id: int
    title: str
    description: str
    state: str
    allowed: list[str]
    services: list[str]
    cis: list[str]
    root_cause: str
    workaround: str
    article: str | None
    resolution: str
    opened_by: str
    opened_at: str | None
    updated_at: str | None
    resolved_at: str | None
    incidents: list[LinkedIncident]
    announcements: list[int]


@attrs.frozen(kw_only=True)
class ProblemList:
    problems: list[ProblemOut]


@attrs.frozen(kw_only=True)
class ProblemQuery:
    state: StateName | None = None
    service: Annotated[str | None, msgspec.Meta(description="only problems about this service (its key)")] = None


@attrs.frozen(kw_only=True)
class NewProblem:
    """A service or a configuration item (reaching the services an outage of it affects) is needed."""

    title: Text
    services: list[str] = attrs.Factory(list)
    cis: Annotated[list[str], msgspec.Meta(description="configuration items it is about (their ids)")] = attrs.Factory(
        list
    )
    description: str = ""
    incidents: Annotated[list[DemandId], msgspec.Meta(max_length=500)] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class IncidentLink:
    demand: DemandId


@attrs.frozen(kw_only=True)
class AnnouncementLink:
    announcement: AnnouncementId


@attrs.frozen(kw_only=True)
class Investigation:
    root_cause: str | None = None


@attrs.frozen(kw_only=True)
class KnownError:
    root_cause: Text
    workaround: Annotated[Text, msgspec.Meta(description="what customers can do meanwhile; published as an article")]


@attrs.frozen(kw_only=True)
class Announce:
    estimate: str = ""


@attrs.frozen(kw_only=True)
class Announced:
    announcements: list[AnnouncementOut]


@attrs.frozen(kw_only=True)
class ProblemResolution:
    resolution: Annotated[Text, msgspec.Meta(description="what was fixed: the customers of its incidents read it")]


def problem_out(p: Any) -> ProblemOut:
    return ProblemOut(
        id=p.id,
        title=p.title,
        description=p.description,
        state=str(p.state),
        allowed=sorted(str(s) for s in p.allowed),
        services=list(p.services),
        cis=list(p.cis),
        root_cause=p.root_cause,
        workaround=p.workaround,
        article=p.article_key,
        resolution=p.resolution,
        opened_by=p.opened_by,
        opened_at=when(p.opened_at),
        updated_at=when(p.updated_at),
        resolved_at=when(p.resolved_at),
        incidents=[
            LinkedIncident(
                demand=i.demand_id,
                service=i.service_key,
                other_service=i.other_service,
                linked_by=i.linked_by,
                linked_at=when(i.linked_at),
            )
            for i in p.incidents
        ],
        announcements=list(p.announcements),
    )


@operation("GET", "/problems", scope="read", query=ProblemQuery, answer=ProblemList, summary="Problems, newest first")
def list_problems(call: Call) -> ProblemList:
    q: ProblemQuery = call.query
    return ProblemList(problems=[problem_out(p) for p in call.desk.problems(state=q.state, service=q.service)])


@operation(
    "POST",
    "/problems",
    scope="agent",
    body=NewProblem,
    answer=ProblemOut,
    status=201,
    summary="Open a problem on services or configuration items, with incidents linked at once",
)
def open_problem(call: Call) -> ProblemOut:
    b: NewProblem = call.body
    p = call.desk.open_problem(
        b.title, services=b.services, cis=b.cis, description=b.description, incidents=b.incidents, actor=call.actor
    )
    return problem_out(p)


@operation("GET", "/problems/{pid}", scope="read", answer=ProblemOut, summary="A problem with its links")
def read_problem(call: Call) -> ProblemOut:
    return problem_out(call.desk.problem(call.id("pid")))


@operation(
    "POST",
    "/problems/{pid}/incidents",
    scope="agent",
    body=IncidentLink,
    answer=ProblemOut,
    conflict=True,
    summary="Link an incident (a request or a question: 422; of another service: linked and marked)",
)
def link_incident(call: Call) -> ProblemOut:
    b: IncidentLink = call.body
    return problem_out(call.desk.link_problem_incident(call.id("pid"), b.demand, actor=call.actor))


@operation(
    "DELETE",
    "/problems/{pid}/incidents/{did}",
    scope="agent",
    answer=ProblemOut,
    summary="Take an incident off a problem",
)
def unlink_incident(call: Call) -> ProblemOut:
    return problem_out(call.desk.unlink_problem_incident(call.id("pid"), call.id("did"), actor=call.actor))


@operation(
    "POST",
    "/problems/{pid}/announcements",
    scope="agent",
    body=AnnouncementLink,
    answer=ProblemOut,
    summary="Link an announcement: resolving the problem resolves it",
)
def link_announcement(call: Call) -> ProblemOut:
    b: AnnouncementLink = call.body
    return problem_out(call.desk.link_problem_announcement(call.id("pid"), b.announcement, actor=call.actor))


@operation(
    "POST",
    "/problems/{pid}/investigate",
    scope="agent",
    body=Investigation,
    answer=ProblemOut,
    conflict=True,
    summary="Investigate the cause (409 with the allowed states from where it is)",
)
def investigate(call: Call) -> ProblemOut:
    b: Investigation = call.body
    return problem_out(call.desk.investigate_problem(call.id("pid"), root_cause=b.root_cause))


@operation(
    "POST",
    "/problems/{pid}/known-error",
    scope="agent",
    body=KnownError,
    answer=ProblemOut,
    conflict=True,
    summary="Record the root cause and the workaround; the workaround is published as a knowledge article",
)
def known_error(call: Call) -> ProblemOut:
    b: KnownError = call.body
    p = call.desk.known_error(call.id("pid"), root_cause=b.root_cause, workaround=b.workaround, actor=call.actor)
    return problem_out(p)


@operation(
    "POST",
    "/problems/{pid}/announce",
    scope="agent",
    body=Announce,
    answer=Announced,
    conflict=True,
    summary="Announce a known error to the subscribers of its services, with its workaround",
)
def announce(call: Call) -> Announced:
    b: Announce = call.body
    made = call.desk.announce_problem(call.id("pid"), estimate=b.estimate, actor=call.actor)
    return Announced(announcements=[announcement_out(a) for a in made])


@operation(
    "POST",
    "/problems/{pid}/resolve",
    scope="agent",
    body=ProblemResolution,
    answer=ProblemOut,
    conflict=True,
    summary="Resolve a problem: the customers of its incidents are told and asked to confirm",
)
def resolve(call: Call) -> ProblemOut:
    b: ProblemResolution = call.body
    return problem_out(call.desk.resolve_problem(call.id("pid"), b.resolution, actor=call.actor))
