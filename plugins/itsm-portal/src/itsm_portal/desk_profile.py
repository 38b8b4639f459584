"""The one view of a customer on the desk's pages: :meth:`itsmcore.Desk.customer_profile`, shown by
``templates/desk/_customer_profile.html`` beside a demand's journey, and whole on the customer's
own desk page (``/desk/customers/ID``), found by typing at ``/desk/customers``."""

from __future__ import annotations

from typing import Any

from itsmcore import Desk, NotFound
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .app import call, need_agent, portal_of
from .views import render


def profile_context(desk: Desk, customer_id: str) -> dict[str, Any]:
    """What the profile panel needs: the profile (None for a customer the directory no longer knows),
    the services' names and the languages' names."""
    try:
        profile = desk.customer_profile(customer_id)
    except NotFound:
        return {"profile": None}
    from babel import Locale, UnknownLocaleError

    language = profile.preferences.language if profile.preferences is not None else ""
    try:
        names = {language: Locale.parse(language).get_display_name("en")} if language else {}
    except (ValueError, UnknownLocaleError):  # a code babel does not know is shown as it is
        names = {}
    return {
        "profile": profile,
        "service_names": {s.key: s.name for s in desk.services},
        "language_names": names,
    }


async def customers_page(request: Request) -> Response:
    """Find a customer by typing part of their name, login, email or phone; each match opens their page."""
    from .desk_people import PICK_LIST, find_customers

    await need_agent(request)
    desk = portal_of(request).desk
    q = request.query_params.get("q", "")[:200]
    found, note = await find_customers(desk, q)
    return await render(
        request,
        "desk/customers.html",
        {"title": "Customers", "q": q, "found": found, "note": note, "limit": PICK_LIST},
    )


async def customer_page(request: Request) -> Response:
    """One customer, whole: who they are, what they use and asked for, what they said, and what they prefer."""
    await need_agent(request)
    desk = portal_of(request).desk
    customer_id = request.path_params["customer"]
    context = await call(profile_context, desk, customer_id)
    if context["profile"] is None:
        raise HTTPException(404, f"There is no customer {customer_id} in the directory.")
    return await render(
        request, "desk/customer.html", {"title": context["profile"].customer.name or customer_id, **context}
    )


def routes() -> list[Route]:
    return [
        Route("/desk/customers", customers_page, methods=["GET"]),
        Route("/desk/customers/{customer}", customer_page, methods=["GET"]),
    ]
