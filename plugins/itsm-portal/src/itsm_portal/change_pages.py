"""The change calendar on the desk: planned changes by day, each with its approvers' decisions.

``/desk/changes`` shows the changes planned or under way in the coming weeks and those
waiting for approval; ``/desk/changes/{id}`` a change with every decision, where one of
its approvers (an agent or not: the message asking for their decision links here)
approves or declines it, and an agent starts, completes or cancels it. Changes are recorded with ``itsm change new`` or the API.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import groupby

from itsmcore import Conflict, Customer, Forbidden, InvalidInput, NotFound, PlannedChange
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .app import call, checked_form, field, need_agent, need_customer, portal_of
from .views import render, say

#: How many days the calendar shows, unless ``?days=`` asks for another number (1 to 92).
DAYS = 28


def _id(request: Request) -> int:
    value = request.path_params["cid"]
    if not (value.isascii() and value.isdigit() and len(value) <= 12):
        raise HTTPException(404)
    return int(value)


async def calendar_page(request: Request) -> Response:
    """The calendar: the coming days' changes grouped by the day they start, and those awaiting approval."""
    await need_agent(request)
    desk = portal_of(request).desk
    try:
        days = min(max(int(request.query_params.get("days", DAYS)), 1), 92)
    except ValueError:
        days = DAYS
    today = desk.clock().replace(hour=0, minute=0, second=0, microsecond=0)
    shown = await call(desk.change_calendar, today, days)
    waiting = await call(desk.list_changes, state="proposed")
    by_day = [(day, list(group)) for day, group in groupby(shown, key=lambda c: max(c.start, today).date())]
    return await render(
        request,
        "desk/changes.html",
        {
            "title": "Change calendar",
            "by_day": by_day,
            "waiting": waiting,
            "first": today,
            "last": today + timedelta(days=days),
            "names": {s.key: s.name for s in desk.services},
        },
    )


async def _viewer(request: Request) -> tuple[Customer, PlannedChange, bool]:
    """The signed-in person, the change, and whether they are an agent; an approver who is not one sees only it."""
    me = await need_customer(request)
    portal = portal_of(request)
    try:
        change = await call(portal.desk.get_change, _id(request))
    except NotFound:
        raise HTTPException(404) from None
    agent = portal.is_agent(me)
    if not agent and me.id not in change.approvers:
        raise HTTPException(404)  # as if it did not exist
    return me, change, agent


async def change_page(request: Request) -> Response:
    """A change, its window, services, risk and every approver's decision, with the steps open to the viewer.

    Its approvers see it (the message asking for their decision links here) even when they
    are not agents; they may approve or decline it, and only agents take the other steps.
    """
    me, change, agent = await _viewer(request)
    desk = portal_of(request).desk
    return await render(
        request,
        "desk/change.html",
        {
            "title": change.title,
            "c": change,
            "me": me.id,
            "can_decide": str(change.state) == "proposed" and me.id in change.waiting_for(),
            "agent": agent,
            "names": {s.key: s.name for s in desk.services},
        },
    )


async def change_action(request: Request) -> Response:
    """approve, reject (with a reason), start, complete or cancel; a refusal is said on the change's page."""
    me, change, agent = await _viewer(request)
    form = await checked_form(request)
    desk = portal_of(request).desk
    cid = change.id
    action = request.path_params["action"]
    if not agent and action not in ("approve", "reject"):
        raise HTTPException(403, "Only the service desk starts, completes or cancels a change.")
    note = field(form, "note")
    steps = {
        "approve": (lambda: desk.approve_change(cid, me.id, note), "Your approval is recorded."),
        "reject": (lambda: desk.reject_change(cid, me.id, note), "Your decision is recorded: the change is rejected."),
        "start": (lambda: desk.start_change(cid), "Started: the subscribers are being told."),
        "complete": (lambda: desk.complete_change(cid, note), "Completed: the subscribers are being told."),
        "cancel": (lambda: desk.cancel_change(cid, note), "Cancelled."),
    }
    if action not in steps:
        raise HTTPException(404)
    step, done = steps[action]
    try:
        await call(step)
        say(request, done)
    except NotFound:
        raise HTTPException(404) from None
    except (Conflict, Forbidden, InvalidInput) as e:
        say(request, str(e))
    return RedirectResponse(f"/desk/changes/{cid}", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/desk/changes", calendar_page, methods=["GET"]),
        Route("/desk/changes/{cid}", change_page, methods=["GET"]),
        Route("/desk/changes/{cid}/{action}", change_action, methods=["POST"]),
    ]


__all__ = ["routes"]
