"""The desk's problem pages: the list with a form to open one, and one problem with its incidents.

On a problem's page an agent links an incident by its number (a request or a question is
refused, saying why; one of another service is linked and marked), takes one off, moves
the problem on (investigating, known error with its workaround published as an article,
announced) and resolves it: the customers of its incidents are asked whether it works.
"""

from __future__ import annotations

from itsmcore import Conflict, InvalidAnswers, InvalidInput, NotFound
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .acting import acting
from .app import call, checked_form, field, need_agent, portal_of
from .views import render, say

#: Fields of the form that opens a problem, in the order shown.
NEW_FIELDS = ("title", "services", "cis", "description", "incidents")
STATES = ("new", "investigating", "known_error", "resolved")


def _items(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.replace(",", " ").split() if v.strip())


def _numbers(value: str) -> tuple[int, ...] | None:
    """``12, #14`` as numbers; ``None`` when one is not a number."""
    out = []
    for v in _items(value):
        v = v.lstrip("#")
        if not (v.isascii() and v.isdigit() and len(v) <= 18):
            return None
        out.append(int(v))
    return tuple(out)


def _pid(request: Request, name: str = "pid") -> int:
    """A record number from the path (a problem's, or with ``name`` a demand's); anything else is 404."""
    value = request.path_params[name]
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise HTTPException(404)
    return int(value)


def _errors(e: InvalidInput, default: str) -> dict[str, str]:
    found = getattr(e, "errors", None)
    return {str(k): str(v) for k, v in found.items()} if isinstance(e, InvalidAnswers) and found else {default: str(e)}


async def desk_problems(
    request: Request, values: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    await need_agent(request)
    desk = portal_of(request).desk
    state = request.query_params.get("state") or ""
    found = await call(desk.problems, state=state if state in STATES else None)
    if state not in STATES:
        state = ""
        found = [p for p in found if str(p.state) != "resolved"]
    return await render(
        request,
        "desk/problems.html",
        {
            "title": "Problems",
            "problems": found,
            "state": state,
            "values": values or {},
            "errors": errors or {},
            "services": desk.services,
        },
        status_code=status,
    )


async def desk_problem_new(request: Request) -> Response:
    me = await need_agent(request)
    form = await checked_form(request)
    desk = acting(portal_of(request).desk, me)  # the agent named on every event they record
    values = {k: field(form, k) for k in NEW_FIELDS}
    incidents = _numbers(values["incidents"])
    if incidents is None:
        return await desk_problems(request, values, {"incidents": "give incident numbers, e.g. 12, 14"}, 422)
    try:
        p = await call(
            desk.open_problem,
            values["title"],
            services=_items(values["services"]),
            cis=_items(values["cis"]),
            description=values["description"].strip(),
            actor=me.id,
        )
    except InvalidInput as e:
        return await desk_problems(request, values, _errors(e, "title"), 422)
    refused = []
    for d in incidents:
        try:
            await call(desk.link_problem_incident, p.id, d, actor=me.id)
        except (InvalidInput, NotFound, Conflict) as e:
            refused.append(f"#{d}: {e}")
    say(request, f"Opened problem {p.id}." + (f" Not linked: {'; '.join(refused)}" if refused else ""))
    return RedirectResponse(f"/desk/problems/{p.id}", status_code=303)


async def desk_problem(
    request: Request, errors: dict[str, str] | None = None, values: dict[str, str] | None = None, status: int = 200
) -> Response:
    await need_agent(request)
    desk = portal_of(request).desk
    try:
        p = await call(desk.problem, _pid(request))
    except NotFound:
        raise HTTPException(404) from None
    incidents = []
    for i in p.incidents:
        try:
            incidents.append((i, await call(desk.get, i.demand_id)))
        except NotFound:
            continue
    return await render(
        request,
        "desk/problem.html",
        {
            "title": f"Problem {p.id}",
            "problem": p,
            "incidents": incidents,
            "allowed": sorted(str(s) for s in p.allowed),
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status,
    )


async def desk_problem_action(request: Request) -> Response:
    """Link, unlink, investigate, known error, announce, resolve: each a form posting here."""
    me = await need_agent(request)
    form = await checked_form(request)
    desk = acting(portal_of(request).desk, me)  # the agent named on every event they record
    pid = _pid(request)
    action = request.path_params["action"]
    values = {k: field(form, k) for k in ("demand", "root_cause", "workaround", "estimate", "resolution")}
    try:
        if action in ("link", "unlink"):
            numbers = _numbers(values["demand"])
            if not numbers:
                return await desk_problem(request, {"demand": "give the incident's number, e.g. 12"}, values, 422)
            for d in numbers:
                if action == "link":
                    p = await call(desk.link_problem_incident, pid, d, actor=me.id)
                    other = any(i.demand_id == d and i.other_service for i in p.incidents)
                    say(request, f"Linked #{d}." + (" It is an incident of another service." if other else ""))
                else:
                    await call(desk.unlink_problem_incident, pid, d, actor=me.id)
                    say(request, f"Took #{d} off this problem.")
        elif action == "investigate":
            await call(desk.investigate_problem, pid, root_cause=values["root_cause"].strip() or None)
            say(request, "Investigating.")
        elif action == "known-error":
            p = await call(
                desk.known_error, pid, root_cause=values["root_cause"], workaround=values["workaround"], actor=me.id
            )
            say(request, f"A known error: its workaround is published as the article {p.article_key}.")
        elif action == "announce":
            made = await call(desk.announce_problem, pid, estimate=values["estimate"].strip(), actor=me.id)
            say(request, f"Announced to the subscribers of {', '.join(a.service_key for a in made)}.")
        elif action == "resolve":
            await call(desk.resolve_problem, pid, values["resolution"], actor=me.id)
            say(request, "Resolved: the customers of its incidents are asked whether it works for them again.")
        else:
            raise HTTPException(404)
    except NotFound as e:
        if action in ("link", "unlink"):
            return await desk_problem(request, {"demand": str(e)}, values, 404)
        raise HTTPException(404) from None
    except InvalidInput as e:
        return await desk_problem(request, _errors(e, "demand"), values, 422)
    except Conflict as e:
        say(request, str(e))
    return RedirectResponse(f"/desk/problems/{pid}", status_code=303)


async def desk_demand_problem(request: Request) -> Response:
    """Link the incident whose page this is to a problem chosen by number (the form on the desk's demand page)."""
    me = await need_agent(request)
    form = await checked_form(request)
    desk = acting(portal_of(request).desk, me)
    did = _pid(request, "did")
    numbers = _numbers(field(form, "problem"))
    if not numbers:
        say(request, "Give the problem's number, e.g. 3 (see Problems).")
        return RedirectResponse(f"/desk/demands/{did}", status_code=303)
    try:
        p = await call(desk.link_problem_incident, numbers[0], did, actor=me.id)
        say(request, f"Linked to problem {p.id}: {p.title}.")
    except (InvalidInput, NotFound, Conflict) as e:
        say(request, str(e))
    return RedirectResponse(f"/desk/demands/{did}", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/desk/demands/{did}/problem", desk_demand_problem, methods=["POST"]),
        Route("/desk/problems", desk_problems, methods=["GET"]),
        Route("/desk/problems", desk_problem_new, methods=["POST"]),
        Route("/desk/problems/{pid}", desk_problem, methods=["GET"]),
        Route("/desk/problems/{pid}/{action}", desk_problem_action, methods=["POST"]),
    ]


__all__ = ["routes"]
