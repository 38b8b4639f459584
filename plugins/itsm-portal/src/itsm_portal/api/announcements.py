"""Announcements: list, open, show, update, resolve, "this affects me", and the ledger of who stands where."""

from __future__ import annotations

from typing import Annotated

import attrs
import msgspec
from itsmcore import InvalidAnswers, Link

from .routing import Call, Text, operation
from .shapes import AnnouncementOut, announcement_out


@attrs.frozen(kw_only=True)
class AnnouncementQuery:
    open: Annotated[bool, msgspec.Meta(description="true for open ones only")] = False
    service: Annotated[str | None, msgspec.Meta(description="only this service's (its key)")] = None


@attrs.frozen(kw_only=True)
class AnnouncementList:
    announcements: list[AnnouncementOut]


@attrs.frozen(kw_only=True)
class LinkIn:
    url: Text
    title: str = ""


@attrs.frozen(kw_only=True)
class NewAnnouncement:
    service: Text
    title: Text
    description: str = ""
    workaround: str = ""
    estimate: str = ""
    source: str = ""
    links: list[LinkIn] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class AnnouncementChange:
    """What changed; what is left out stays as it is. Everyone concerned is told."""

    description: str | None = None
    workaround: str | None = None
    estimate: str | None = None
    links: list[LinkIn] | None = None


@attrs.frozen(kw_only=True)
class AnnouncementResolution:
    resolution: Text


@attrs.frozen(kw_only=True)
class Affected:
    customer: Annotated[Text, msgspec.Meta(description="the customer it affects (their id)")]
    channel: str = "api"


@attrs.frozen(kw_only=True)
class AffectedAnswer:
    """The customer's incident linked to the announcement (made for them if they had none)."""

    demand_id: int


@attrs.frozen(kw_only=True)
class LedgerOut:
    """Where every customer of an announcement stands, for the service desk."""

    announcement: AnnouncementOut
    subscribers: int
    notified: int
    affected: int
    confirmed_fixed: int
    still_broken: int
    no_answer: int
    followed_up: int
    unreachable: int


def _links(given: list[LinkIn]) -> list[Link]:
    return [Link(title=x.title or x.url, url=x.url) for x in given]


@operation(
    "GET",
    "/announcements",
    scope="read",
    query=AnnouncementQuery,
    answer=AnnouncementList,
    summary="List announcements",
)
def list_announcements(call: Call) -> AnnouncementList:
    q: AnnouncementQuery = call.query
    found = call.desk.announcements(open_only=q.open, service=q.service)
    return AnnouncementList(announcements=[announcement_out(a) for a in found])


@operation(
    "POST",
    "/announcements",
    scope="agent",
    body=NewAnnouncement,
    answer=AnnouncementOut,
    status=201,
    summary="Open an announcement: the service's subscribers are told",
)
def announce(call: Call) -> AnnouncementOut:
    b: NewAnnouncement = call.body
    ann = call.desk.open_announcement(
        b.service,
        b.title,
        description=b.description,
        workaround=b.workaround,
        links=_links(b.links),
        estimate=b.estimate,
        source=b.source or call.actor,
    )
    return announcement_out(ann)


@operation("GET", "/announcements/{aid}", scope="read", answer=AnnouncementOut, summary="An announcement")
def read_announcement(call: Call) -> AnnouncementOut:
    return announcement_out(call.desk.announcement(call.id("aid")))


@operation(
    "PATCH",
    "/announcements/{aid}",
    scope="agent",
    body=AnnouncementChange,
    answer=AnnouncementOut,
    conflict=True,
    summary="Update an open announcement's description, workaround, links or estimate",
)
def update_announcement(call: Call) -> AnnouncementOut:
    b: AnnouncementChange = call.body
    changes = {k: v for k, v in attrs.asdict(b, recurse=False).items() if v is not None}
    if "links" in changes:
        changes["links"] = _links(b.links or [])
    if not changes:
        raise InvalidAnswers({"description": "say what changed: description, workaround, links or estimate"})
    return announcement_out(call.desk.update_announcement(call.id("aid"), **changes))


@operation(
    "POST",
    "/announcements/{aid}/resolve",
    scope="agent",
    body=AnnouncementResolution,
    answer=AnnouncementOut,
    conflict=True,
    summary="Resolve an announcement: the affected customers are asked to confirm the fix",
)
def resolve_announcement(call: Call) -> AnnouncementOut:
    b: AnnouncementResolution = call.body
    return announcement_out(call.desk.resolve_announcement(call.id("aid"), b.resolution))


@operation(
    "POST",
    "/announcements/{aid}/affects-me",
    scope="write",
    body=Affected,
    answer=AffectedAnswer,
    conflict=True,
    summary="A customer says the announcement affects them: they join its affected list",
)
def affects_me(call: Call) -> AffectedAnswer:
    b: Affected = call.body
    return AffectedAnswer(demand_id=call.desk.affects_me(call.id("aid"), b.customer, b.channel or "api"))


@operation(
    "GET",
    "/announcements/{aid}/ledger",
    scope="agent",
    answer=LedgerOut,
    summary="Who was told, who is affected, who confirmed",
)
def ledger(call: Call) -> LedgerOut:
    lg = call.desk.ledger(call.id("aid"))
    return LedgerOut(
        announcement=announcement_out(lg.announcement),
        subscribers=lg.subscribers,
        notified=lg.notified,
        affected=lg.affected,
        confirmed_fixed=lg.confirmed_fixed,
        still_broken=lg.still_broken,
        no_answer=lg.no_answer,
        followed_up=lg.followed_up,
        unreachable=lg.unreachable,
    )
