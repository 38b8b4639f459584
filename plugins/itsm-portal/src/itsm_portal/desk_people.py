"""The service desk's pages about people: recording a contact for a customer found by typing, and acting as the agent.

Record a contact works without JavaScript: the agent types part of the customer's name,
login, email or phone number and presses Find; the page comes back with a pick list of at
most twenty matches. With JavaScript the pick list follows the typing (``/desk/customers.json``),
so the page never holds the whole directory, however large.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from itsmcore import (
    CustomerMatch,
    DemandKind,
    IneligibleCustomer,
    InvalidInput,
    UnknownCustomer,
    UnknownService,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .acting import acting
from .app import call, checked_form, error_answer, field, need_agent, portal_of
from .views import CONTACT_CHANNELS, REFUSED, refusal, render, say

if TYPE_CHECKING:
    from itsmcore import Desk

#: How many customers the pick list shows (type more to narrow it down).
PICK_LIST = 20


def _match(m: CustomerMatch) -> dict[str, str]:
    return {"id": m.id, "name": m.name, "email": m.email, "phone": m.phone, "role": m.role}


async def find_customers(desk: Desk, text: str) -> tuple[list[CustomerMatch], str]:
    """The pick list for ``text``, or a sentence saying why there is none."""
    if not text.strip():
        return [], ""
    try:
        found = await call(desk.search_customers, text, limit=PICK_LIST)
    except InvalidInput as e:
        return [], str(e).capitalize() + "."
    if not found:
        return [], f"Nobody matches “{text}”. Try part of the name, the login, the email or the phone number."
    if len(found) == PICK_LIST:
        return found, f"The first {PICK_LIST} matches: type more to narrow them down."
    return found, ""


def _parse_answers(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip():
            out[name.strip()] = value.strip()
    return out


async def contact_page(
    request: Request,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
    notice: str = "",
) -> Response:
    """Record a contact: find the customer (``?find=``), pick them, say what they need."""
    await need_agent(request)
    desk = portal_of(request).desk
    values = dict(values or {"channel": "phone", "kind": "failure"})
    find = (request.query_params.get("find") or values.get("find") or "")[:400]
    found, hint = await find_customers(desk, find)
    picked = values.get("customer", "")
    if picked and picked not in {m.id for m in found}:  # keep the choice across a refused form
        person = await call(desk.find_customer, picked)
        if person is not None:
            found.insert(0, CustomerMatch(id=person.id, name=person.name, email=person.email or ""))
    return await render(
        request,
        "desk/contact.html",
        {
            "title": "Record a contact",
            "find": find,
            "found": found,
            "hint": hint,
            "services": desk.services,
            "channels": CONTACT_CHANNELS,
            "values": values,
            "errors": errors or {},
            **({"flash": notice} if notice else {}),
        },
        status_code=status,
    )


async def contact(request: Request) -> Response:
    """Record the contact as a demand of the picked customer, with the agent named on its journey."""
    agent = await need_agent(request)
    form = await checked_form(request)
    desk = portal_of(request).desk
    names = ("customer", "find", "channel", "kind", "service", "summary", "details", "answers")
    values = {k: field(form, k) for k in names}
    errors: dict[str, str] = {}
    if not values["customer"]:
        errors["customer"] = "Find the customer and choose them from the list."
    if values["channel"] not in CONTACT_CHANNELS:
        errors["channel"] = "Choose how the customer contacted you."
    if values["kind"] not in {str(k) for k in DemandKind}:
        errors["kind"] = "Choose request, problem or question."
    if not values["summary"] and not values["service"]:
        errors["summary"] = "Say in a few words what the customer needs."
    if errors:
        return await contact_page(request, values, errors, 422)
    try:
        receipt = await call(
            acting(desk, agent).submit,
            values["kind"],
            values["customer"],
            values["summary"],
            service=values["service"] or None,
            details=values["details"],
            answers=_parse_answers(values["answers"]) or None,
            channel=values["channel"],
            actor="agent",
        )
    except UnknownCustomer:
        return await contact_page(
            request, values, {"customer": "Find the customer and choose them from the list."}, 422
        )
    except UnknownService:
        return await contact_page(request, values, {"service": "Choose a service from the list."}, 422)
    except IneligibleCustomer as e:
        return await contact_page(request, values, {"service": f"{e.reason} {e.next_step}".strip()}, 422)
    except REFUSED as e:
        refused = refusal(e, "answers")
        return await contact_page(request, values, refused.errors, refused.status, refused.notice)
    say(request, f"Recorded #{receipt.demand.id}. Tell the customer: {receipt.acknowledgement}")
    return RedirectResponse(f"/desk/demands/{receipt.demand.id}", status_code=303)


async def customers_json(request: Request) -> Response:
    """Customers matching ``?q=`` for the pick list as the agent types (at most 20): 422 for a search too short or long."""
    await need_agent(request)
    desk = portal_of(request).desk
    try:
        found = await call(desk.search_customers, request.query_params.get("q", ""), limit=PICK_LIST)
    except InvalidInput as e:
        return error_answer(e)
    return JSONResponse({"customers": [_match(m) for m in found], "more": len(found) == PICK_LIST})


def routes() -> list[Route]:
    return [
        Route("/desk/contact", contact_page, methods=["GET"]),
        Route("/desk/contact", contact, methods=["POST"]),
        Route("/desk/customers.json", customers_json, methods=["GET"]),
    ]
