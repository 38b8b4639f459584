"""The portal's sign-in and sign-out pages: a session in the store, a redirect back only within the portal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from itsmcore import (
    N_,
    TemporaryFailure,
    TooManyAttempts,
)
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .app import (
    SIGN_IN_RETRY_AFTER,
    SIGN_IN_UNAVAILABLE,
    call,
    checked_form,
    current_customer,
    field,
    log,
    portal_of,
)
from .security import csrf_token

if TYPE_CHECKING:
    pass


# ---------------------------------------------------------------------------- words for customers
from .views import render, say


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def signin_page(request: Request) -> Response:
    if await current_customer(request) is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return await render(
        request, "signin.html", {"title": N_("Sign in"), "next": _safe_next(request.query_params.get("next"))}
    )


async def signin(request: Request) -> Response:
    portal = portal_of(request)
    form = await checked_form(request)
    login, password = field(form, "login"), form.get("password")
    nxt = _safe_next(field(form, "next"))
    address = request.client.host if request.client else None
    try:
        # counted by the desk in the database: the same count whichever process answers
        customer = await call(
            portal.desk.authenticate,
            login,
            password if isinstance(password, str) else "",
            address=address,
            **portal.sign_in_limit,
        )
    except TemporaryFailure as outage:
        # the directory (or a sign-in plugin) did not answer: the details are for the log, never for a visitor
        log.warning("sign-in unavailable: %s", outage)
        return await _refused(request, nxt, login, SIGN_IN_UNAVAILABLE, 503, retry_after=SIGN_IN_RETRY_AFTER)
    except TooManyAttempts as refused:
        wait = refused.retry_after
        minutes = max(1, round(wait / 60))
        error = (
            N_("Too many attempts. Please wait a minute and try again, or ask the service desk to help you.")
            if minutes == 1
            else N_(
                "Too many attempts. Please wait {minutes} minutes and try again, or ask the service desk to help you."
            )
        )
        return await _refused(request, nxt, login, error, 429, retry_after=int(wait) + 1, minutes=minutes)
    if customer is None:
        return await _refused(request, nxt, login, N_("That login and password do not match. Please try again."), 401)
    request.session.clear()  # a new session: nothing carried over from before signing in
    portal = portal_of(request)
    request.session["sid"] = await call(portal.desk.begin_session, customer.id, hours=portal.settings.session_hours)
    csrf_token(request.session)
    return RedirectResponse(nxt, status_code=303)


async def _refused(
    request: Request, nxt: str, login: str, error: str, status: int, *, retry_after: int | None = None, **values: object
) -> Response:
    """The sign-in page again, saying why not (``error``, its placeholders ``values``), with ``status``."""
    context: dict[str, object] = {"title": N_("Sign in"), "next": nxt, "login": login, "error": error}
    if values:
        context["error_values"] = values
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return await render(request, "signin.html", context, status_code=status, headers=headers)


async def signout(request: Request) -> Response:
    await checked_form(request)
    await call(portal_of(request).desk.end_session, request.session.get("sid"))  # a copied cookie dies too
    request.session.clear()
    say(request, N_("You are signed out."))
    return RedirectResponse("/signin", status_code=303)


def routes() -> Sequence[Route]:
    return [
        Route("/signin", signin_page, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
    ]
