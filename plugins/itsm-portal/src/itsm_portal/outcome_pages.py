"""The customer's word on an outcome: "it works" (or not) on a demand's page or through a signed link, and the
survey that follows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from itsmcore import (
    N_,
    Conflict,
    Demand,
    DemandState,
    ItsmError,
)
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .app import (
    call,
    checked_form,
    current_customer,
    error_status,
    field,
    need_customer,
    portal_of,
)

if TYPE_CHECKING:
    from itsmcore import Desk


# ---------------------------------------------------------------------------- words for customers
from .views import _SURVEY, CONFIRMABLE, REFUSED, _my_demand, _notice, refusal, render, say


def _survey_path(desk: Desk, customer_id: str, demand_id: int) -> str | None:
    for m in desk.messages(customer=customer_id, demand_id=demand_id, limit=50):
        found = _SURVEY.search(m["body"] or "") if m["purpose"] == "survey" else None
        if found:
            return f"/survey/{found.group(1)}"
    return None


def confirm_demand(desk: Desk, demand: Demand, customer_id: str, fixed: bool) -> int:
    """The customer says whether it is sorted (announcement-linked incidents update the ledger too)."""
    return desk.confirm_demand(demand.id, customer_id, fixed, channel="portal")


async def demand_confirm(request: Request) -> Response:
    me = await need_customer(request)
    form = await checked_form(request)
    demand = await _my_demand(request, me)
    if demand.state not in CONFIRMABLE:
        say(request, N_("There is nothing to confirm on this one right now."))
        return RedirectResponse(f"/demands/{demand.id}", status_code=303)
    fixed = field(form, "fixed") == "yes"
    desk = portal_of(request).desk
    try:
        did = await call(confirm_demand, desk, demand, me.id, fixed)
    except REFUSED as e:  # it moved on meanwhile (closed already, reopened by the desk)
        say(request, refusal(e, "fixed").text())
        return RedirectResponse(f"/demands/{demand.id}", status_code=303)
    if fixed:
        survey = await call(_survey_path, desk, me.id, did)
        if survey:
            return RedirectResponse(survey, status_code=303)
        say(request, N_("Thank you for confirming."))
    else:
        say(request, N_("We are on it again and will keep you posted."))
    return RedirectResponse(f"/demands/{did}", status_code=303)


async def demand_answered(request: Request) -> Response:
    """The answer card's two buttons: "That answered it" closes the question as self-served;
    "I still need help" hands it to a person, with what the customer already read on it."""
    me = await need_customer(request)
    form = await checked_form(request)
    demand = await _my_demand(request, me)
    if demand.state != DemandState.ANSWERED:
        say(request, N_("There is nothing to confirm on this one right now."))
        return RedirectResponse(f"/demands/{demand.id}", status_code=303)
    desk = portal_of(request).desk
    helped = field(form, "helped") == "yes"
    try:
        if helped:
            await call(desk.confirm_demand, demand.id, me.id, True, channel="portal")
        else:  # reopened for a person; it no longer counts as solved by self-service
            await call(desk.confirm_demand, demand.id, me.id, False, channel="portal")
    except REFUSED as e:  # it moved on meanwhile (an agent picked it up, say)
        say(request, refusal(e, "helped").text())
        return RedirectResponse(f"/demands/{demand.id}", status_code=303)
    say(request, N_("Glad that answered it.") if helped else N_("Someone from IT will answer you and keep you posted."))
    return RedirectResponse(f"/demands/{demand.id}", status_code=303)


# ---------------------------------------------------------------------------- signed links: confirm, survey


async def _confirm_failed(request: Request, token: str, exc: ItsmError) -> Response:
    """A confirm link that cannot be used (tampered, expired, answered already): say so, change nothing."""
    if isinstance(exc, Conflict):  # answered already: a thank-you, not an error
        return await render(
            request,
            "confirm.html",
            {"title": "Already answered", "token": token, "fixed": "yes", "done": None, "answered": True}
            | {"flash": str(exc)},
            status_code=error_status(exc),
        )
    return await render(
        request,
        "confirm.html",
        {"title": "That link did not work", "token": token, "fixed": "yes", "done": None, "error": str(exc)},
        status_code=error_status(exc),
    )


async def confirm_page(request: Request) -> Response:
    token = request.path_params["token"]
    fixed = request.query_params.get("fixed", "yes")
    try:  # checked at once, so a broken, expired or used link says so before anything is pressed
        ann = await call(portal_of(request).desk.confirm_asked, token)
    except ItsmError as e:
        return await _confirm_failed(request, token, e)
    # a GET never changes anything (mail scanners follow links): the customer presses a button
    return await render(
        request,
        "confirm.html",
        {"title": "Is it working again?", "token": token, "fixed": fixed, "done": None, "announcement": ann},
    )


async def confirm_submit(request: Request) -> Response:
    form = await checked_form(request)
    token = request.path_params["token"]
    fixed = field(form, "fixed") == "yes"
    me = await current_customer(request)
    desk = portal_of(request).desk
    try:
        ann = await call(desk.confirm_asked, token)
    except ItsmError as e:  # tampered, expired, or answered already (the link works once)
        return await _confirm_failed(request, token, e)
    try:
        did = await call(desk.confirm, token, fixed, customer=me.id if me else None)
    except Conflict as e:  # the report moved on meanwhile: say so, and ask again
        refused = refusal(e, "fixed")
        return await render(
            request,
            "confirm.html",
            {
                "title": "Is it working again?",
                "token": token,
                "fixed": "yes" if fixed else "no",
                "done": None,
                "announcement": ann,
            }
            | _notice(refused),
            status_code=refused.status,
        )
    except ItsmError as e:  # someone else's link
        return await _confirm_failed(request, token, e)
    survey = None
    if fixed and did:
        demand = await call(desk.get, did)
        survey = await call(_survey_path, desk, demand.customer_id, did)
    return await render(
        request,
        "confirm.html",
        {"title": "Thank you", "token": token, "fixed": "yes" if fixed else "no", "done": did, "survey": survey},
    )


def _survey_method(desk: Desk) -> Any:
    return desk.survey_method()


async def survey_page(request: Request) -> Response:
    desk = portal_of(request).desk
    name, method = _survey_method(desk)
    token = request.path_params["token"]
    ctx: dict[str, Any] = {"title": "How did we do?", "token": token, "name": name, "method": method, "done": False}
    try:  # checked at once: a used link thanks them, a broken one says so
        await call(desk.survey_asked, token)
    except Conflict as e:  # answered already: nothing to ask again
        ctx.update(done=True, title="Already answered", answered=True, flash=str(e))
        return await render(request, "survey.html", ctx, status_code=error_status(e))
    except ItsmError as e:  # a tampered or expired link
        ctx.update(title="That link did not work", error=str(e), broken=True)
        return await render(request, "survey.html", ctx, status_code=error_status(e))
    return await render(request, "survey.html", ctx)


async def survey_submit(request: Request) -> Response:
    form = await checked_form(request)
    desk = portal_of(request).desk
    token = request.path_params["token"]
    name, method = _survey_method(desk)
    ctx: dict[str, Any] = {"title": "How did we do?", "token": token, "name": name, "method": method, "done": False}
    raw = field(form, "score")
    try:
        score = int(raw)
    except ValueError:
        ctx["error"] = "Please choose a score."
        return await render(request, "survey.html", ctx, status_code=422)
    try:
        await call(desk.answer_survey, score, token=token, comment=field(form, "comment")[:2000], channel="portal")
    except REFUSED as e:
        refused = refusal(e, "score")
        if refused.errors:
            ctx["error"] = refused.text()
        else:  # answered already: nothing to ask again
            ctx.update(done=True, title="Already answered", answered=True, **_notice(refused))
        return await render(request, "survey.html", ctx, status_code=refused.status)
    except ItsmError as e:  # a tampered or expired link
        ctx.update(title="That link did not work", error=str(e), broken=True)
        return await render(request, "survey.html", ctx, status_code=error_status(e))
    ctx.update(done=True, title="Thank you")
    return await render(request, "survey.html", ctx)


# ---------------------------------------------------------------------------- routes


def routes() -> Sequence[Route]:
    return [
        Route("/demands/{did}/confirm", demand_confirm, methods=["POST"]),
        Route("/demands/{did}/answered", demand_answered, methods=["POST"]),
        Route("/confirm/{token}", confirm_page, methods=["GET"]),
        Route("/confirm/{token}", confirm_submit, methods=["POST"]),
        Route("/survey/{token}", survey_page, methods=["GET"]),
        Route("/survey/{token}", survey_submit, methods=["POST"]),
    ]
