"""The service desk's own pages: the queue, tasks, a demand with both journey columns, announcements.

Only agents (``agent_groups``) reach them; every change an agent makes here is recorded as that
agent (:func:`~itsm_portal.acting.acting`), and refusals come back on the page with what was typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from itsmcore import DemandKind, DemandState, InvalidAnswers, Link, NotFound, UnknownService
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .acting import acting
from .app import call, checked_form, field, need_agent, portal_of
from .views import REFUSED, _int, customer_names, refusal, render, say


async def desk_queue(request: Request) -> Response:
    await need_agent(request)
    desk = portal_of(request).desk
    kind = request.query_params.get("kind", "")
    state = request.query_params.get("state", "")
    open_only = request.query_params.get("open", "1") == "1"
    if kind not in {str(k) for k in DemandKind}:
        kind = ""
    if state not in {str(s) for s in DemandState}:
        state = ""
    demands = await call(desk.list_demands, kind=kind or None, state=state or None, open_only=open_only, limit=200)
    return await render(
        request,
        "desk/queue.html",
        {
            "title": "Service desk queue",
            "demands": demands,
            "kind": kind,
            "state": state,
            "open_only": open_only,
            "kinds": list(DemandKind),
            "states": list(DemandState),
            "announcements": await call(desk.announcements, open_only=True),
            "names": await call(customer_names, desk, (d.customer_id for d in demands)),
        },
    )


async def desk_tasks(request: Request) -> Response:
    """The people's work: open tasks (plan steps done by a team), oldest first, with their next milestone."""
    await need_agent(request)
    desk = portal_of(request).desk
    team = request.query_params.get("team", "") or None
    tasks = await call(desk.tasks, team=team, open_only=True, limit=200)
    rows = []
    people: list[str | None] = []
    for task in tasks:
        demand = await call(desk.get, task.demand_id)
        reached = {m.name for m in task.milestones}
        upcoming = [m for m in await call(desk.task_milestones, task.id) if m not in reached]
        rows.append({"task": task, "demand": demand, "next": upcoming[0] if upcoming else None})
        people += [task.assignee, demand.customer_id]
    return await render(
        request,
        "desk/tasks.html",
        {
            "title": "Tasks",
            "rows": rows,
            "team": team or "",
            "teams": sorted(desk.config.teams),
            "names": await call(customer_names, desk, people),
        },
    )


async def desk_task_action(request: Request) -> Response:
    """Start a task, mark its next milestone, or finish it; a refusal (done already) is a notice."""
    me = await need_agent(request)
    form = await checked_form(request)
    desk = acting(portal_of(request).desk, me)
    tid = _int(request.path_params["tid"])
    action = request.path_params["action"]
    try:
        if action == "start":
            await call(desk.start_task, tid, me.id)
            say(request, f"Task {tid} is yours.")
        elif action == "milestone":
            milestone = field(form, "milestone")
            await call(desk.task_milestone, tid, milestone)
            say(request, f"Task {tid}: {milestone}. The customer is told.")
        elif action == "done":
            await call(desk.finish_task, tid)
            say(request, f"Task {tid} is done; the request carries on.")
        else:
            raise HTTPException(404)
    except NotFound:
        raise HTTPException(404) from None
    except REFUSED as e:
        say(request, refusal(e, "milestone").text())
    return RedirectResponse("/desk/tasks", status_code=303)


async def _any_demand(request: Request) -> Any:
    did = _int(request.path_params["did"])
    try:
        return await call(portal_of(request).desk.show, did)
    except NotFound:
        raise HTTPException(404) from None


def _expected_approver(view: Any) -> str | None:
    for job in reversed(view.jobs):
        if job.step >= 0 and str(job.state) == "done" and (job.result or {}).get("approver"):
            return str(job.result["approver"])
    return None


async def desk_demand(
    request: Request, errors: Mapping[str, str] | None = None, status: int = 200, notice: str = ""
) -> Response:
    await need_agent(request)
    view = await _any_demand(request)
    desk = portal_of(request).desk
    customer = await call(desk.find_customer, view.demand.customer_id)
    from .desk_profile import profile_context

    return await render(
        request,
        "desk/demand.html",
        {
            **await call(profile_context, desk, view.demand.customer_id),
            "here": view.demand.id,
            "title": f"#{view.demand.id}: {view.demand.summary}",
            "v": view,
            "d": view.demand,
            "customer": customer,
            "allowed": sorted(str(s) for s in view.demand.allowed_next()),
            "approver": _expected_approver(view),
            "review": await call(desk.review_of, view.demand.id),
            "clocks": await call(desk.service_clocks, view.demand.id),
            "problems": await call(desk.problems_of_demand, view.demand.id),
            "errors": errors or {},
            **({"flash": notice} if notice else {}),
        },
        status_code=status,
    )


async def desk_demand_action(request: Request) -> Response:
    agent = await need_agent(request)
    form = await checked_form(request)
    view = await _any_demand(request)
    desk = acting(portal_of(request).desk, agent)  # the agent named on every event they record
    did = view.demand.id
    action = request.path_params["action"]
    text = field(form, "text")[:4000]
    try:
        if action == "comment":
            if not text:
                raise InvalidAnswers({"text": "Write the comment the customer will see."})
            await call(desk.comment, did, text, actor="agent", channel="portal")
        elif action == "note":
            if not text:
                raise InvalidAnswers({"text": "Write the note."})
            await call(desk.record_event, did, actor="agent", behind_scenes=f"{agent.name}: {text}", kind="note")
        elif action == "transition":  # no default: a blank choice is refused, never a move
            if field(form, "state") not in {str(s) for s in DemandState}:
                raise InvalidAnswers({"state": "Choose the state to move it to."})
            await call(
                desk.transition,
                did,
                field(form, "state"),
                actor="agent",
                customer_sees=text,
                behind_scenes=f"moved by {agent.id}",
            )
        elif action == "resolve":
            if not text:
                raise InvalidAnswers({"resolution": "Say what was done, in words the customer understands."})
            await call(desk.resolve, did, text, actor="agent")
        elif action == "approve":  # the agent records the approver's decision: the journey names both
            await call(desk.approve, did, agent.id, text, on_behalf_of=_expected_approver(view))
        elif action == "reject":
            if not text:
                raise InvalidAnswers({"reason": "Give the reason the customer will be told."})
            await call(desk.reject, did, agent.id, text, on_behalf_of=_expected_approver(view))
        elif action == "priority":  # the reason is kept on the journey; service-level targets follow
            if field(form, "priority") not in ("1", "2", "3", "4"):
                raise InvalidAnswers({"priority": "Choose the new priority."})
            if not text:
                raise InvalidAnswers({"priority_reason": "Say why the priority changes (kept on the journey)."})
            await call(desk.set_priority, did, int(field(form, "priority")), text)
        elif action == "hide-review":  # kept for the desk, with who hid it and why
            review = await call(desk.review_of, did)
            if review is None:
                raise HTTPException(404)
            await call(desk.hide_review, review.id, agent.id, text)
        else:
            raise HTTPException(404)
    except REFUSED as e:  # approved twice, moved meanwhile: a notice on the demand as it is now
        refused = refusal(e, "text")
        return await desk_demand(request, refused.errors, refused.status, refused.notice)
    say(request, "Done.")
    return RedirectResponse(f"/desk/demands/{did}", status_code=303)


async def desk_announcements(
    request: Request, values: Any = None, errors: Any = None, status: int = 200, notice: str = ""
) -> Response:
    await need_agent(request)
    desk = portal_of(request).desk
    return await render(
        request,
        "desk/announcements.html",
        {
            "title": "Announcements",
            "announcements": await call(desk.announcements),
            "services": desk.services,
            "values": values or {},
            "errors": errors or {},
            **({"flash": notice} if notice else {}),
        },
        status_code=status,
    )


def _links(form: FormData) -> list[Link]:
    title, url = field(form, "link_title"), field(form, "link_url")
    if url and not url.startswith(("https://", "http://")):
        raise InvalidAnswers({"link_url": "A link starts with https:// (or http://)."})
    return [Link(title=title or url, url=url)] if url else []


async def desk_announce(request: Request) -> Response:
    await need_agent(request)
    form = await checked_form(request)
    desk = portal_of(request).desk
    values = {
        k: field(form, k)
        for k in ("service", "title", "description", "workaround", "estimate", "link_title", "link_url")
    }
    try:
        ann = await call(
            desk.open_announcement,
            values["service"],
            values["title"],
            description=values["description"],
            workaround=values["workaround"],
            links=_links(form),
            estimate=values["estimate"],
            source="agent",
        )
    except UnknownService:
        return await desk_announcements(request, values, {"service": "Choose a service from the list."}, 422)
    except REFUSED as e:
        refused = refusal(e, "title")
        return await desk_announcements(request, values, refused.errors, refused.status, refused.notice)
    say(request, "Announced. Subscribers are being told.")
    return RedirectResponse(f"/desk/announcements/{ann.id}", status_code=303)


async def desk_announcement(request: Request, errors: Any = None, status: int = 200, notice: str = "") -> Response:
    await need_agent(request)
    desk = portal_of(request).desk
    aid = _int(request.path_params["aid"])
    try:
        ledger = await call(desk.ledger, aid)
    except NotFound:
        raise HTTPException(404) from None
    ann = ledger.announcement
    linked = [
        d for d in await call(desk.list_demands, service=ann.service_key, limit=200) if d.announcement_id == ann.id
    ]
    return await render(
        request,
        "desk/announcement.html",
        {
            "title": f"Announcement {ann.id}: {ann.title}",
            "a": ann,
            "ledger": ledger,
            "service": desk.get_service(ann.service_key) if ann.service_key in {s.key for s in desk.services} else None,
            "demands": linked,
            "names": await call(customer_names, desk, (d.customer_id for d in linked)),
            "errors": errors or {},
            **({"flash": notice} if notice else {}),
        },
        status_code=status,
    )


async def desk_announcement_action(request: Request) -> Response:
    await need_agent(request)
    form = await checked_form(request)
    desk = portal_of(request).desk
    aid = _int(request.path_params["aid"])
    action = request.path_params["action"]
    try:
        if action == "update":
            changes: dict[str, Any] = {
                k: field(form, k) for k in ("description", "workaround", "estimate") if form.get(k) is not None
            }
            if field(form, "link_url"):
                changes["links"] = _links(form)
            await call(desk.update_announcement, aid, **changes)
            say(request, "Updated. Everyone concerned is being told.")
        elif action == "resolve":
            resolution = field(form, "resolution")
            if not resolution:
                raise InvalidAnswers({"resolution": "Say what fixed it, in words customers understand."})
            await call(desk.resolve_announcement, aid, resolution)
            say(request, "Resolved. Affected customers are asked to confirm.")
        else:
            raise HTTPException(404)
    except NotFound:
        raise HTTPException(404) from None
    except REFUSED as e:  # resolved already (or meanwhile): a notice on the announcement as it is now
        refused = refusal(e, "resolution")
        return await desk_announcement(request, refused.errors, refused.status, refused.notice)
    return RedirectResponse(f"/desk/announcements/{aid}", status_code=303)


def routes() -> Sequence[Route]:
    return [
        Route("/desk", desk_queue),
        Route("/desk/tasks", desk_tasks, methods=["GET"]),
        Route("/desk/tasks/{tid}/{action}", desk_task_action, methods=["POST"]),
        Route("/desk/demands/{did}", desk_demand, methods=["GET"]),
        Route("/desk/demands/{did}/{action}", desk_demand_action, methods=["POST"]),
        Route("/desk/announcements", desk_announcements, methods=["GET"]),
        Route("/desk/announcements", desk_announce, methods=["POST"]),
        Route("/desk/announcements/{aid}", desk_announcement, methods=["GET"]),
        Route("/desk/announcements/{aid}/{action}", desk_announcement_action, methods=["POST"]),
    ]
