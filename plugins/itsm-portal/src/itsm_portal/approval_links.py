"""The pages behind an approver's signed links: see what is asked, then approve or decline.

A GET shows who asks, for what, and checks the link at once (tampered, expired, used:
a page that says so); it never decides anything, since mail scanners follow links. The
decision is a POST with the session's CSRF token, like every form of the portal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from itsmcore import InvalidInput, ItsmError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .app import call, checked_form, current_customer, error_status, field, portal_of
from .views import render

TEMPLATE = "approval.html"


async def _failed(request: Request, exc: ItsmError) -> Response:
    """A link that cannot be used: what happened, in the approver's words, and nothing changed."""
    return await render(
        request,
        TEMPLATE,
        {"title": "That link did not work", "error": str(exc)},
        status_code=error_status(exc),
    )


async def approval_page(request: Request) -> Response:
    token = request.path_params["token"]
    decision = "reject" if request.query_params.get("decision") == "reject" else "approve"
    try:
        asked = await call(portal_of(request).desk.approval_asked, token)
    except ItsmError as e:
        return await _failed(request, e)
    return await render(
        request,
        TEMPLATE,
        {"title": f"Approve {asked.what}?", "asked": asked, "token": token, "decision": decision},
    )


async def approval_submit(request: Request) -> Response:
    form = await checked_form(request)
    token = request.path_params["token"]
    approve = field(form, "decision") == "approve"
    reason = field(form, "reason")[:2000]
    me = await current_customer(request)
    desk = portal_of(request).desk
    try:
        asked = await call(desk.approval_asked, token)
        await call(desk.approve_by_link, token, approve, reason, approver=me.id if me else None)
    except InvalidInput as e:  # a decline without a reason: ask for it on the same page
        ctx: dict[str, Any] = {"title": f"Approve {asked.what}?", "asked": asked, "token": token}
        errors = getattr(e, "errors", None) or {"reason": str(e)}
        ctx |= {"decision": "reject", "error": errors.get("reason", str(e)), "reason": reason}
        return await render(request, TEMPLATE, ctx, status_code=error_status(e))
    except ItsmError as e:  # tampered, expired, someone else's, or decided meanwhile
        return await _failed(request, e)
    return await render(
        request,
        TEMPLATE,
        {"title": "Thank you", "asked": asked, "done": "approved" if approve else "declined"},
    )


def routes() -> Sequence[Route]:
    return [
        Route("/approvals/{token}", approval_page, methods=["GET"]),
        Route("/approvals/{token}", approval_submit, methods=["POST"]),
    ]
