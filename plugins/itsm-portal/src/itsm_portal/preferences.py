"""The customer's own preferences page: how to be reached, quiet hours, surveys, the services they hear about.

Thin over :meth:`itsmcore.Desk.set_preferences` and the subscription calls; a refused value
is shown on its field, with what was typed kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from itsmcore import N_, Customer, InvalidInput, languages
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .app import call, checked_form, field, need_customer, portal_of
from .languages import LOCALE_DIR
from .views import render, say

TEMPLATE = "preferences.html"
#: Ranked choices of channel a customer may give.
RANKS = (N_("First choice"), N_("Then"), N_("Then"))


def _context(desk: Any, me: Customer) -> dict[str, Any]:
    prefs = desk.preferences(me.id)
    profile = desk.customer_profile(me.id)
    offered = desk.offered_channels(me.id)
    chosen = [c for c in prefs.channels if c in offered]
    quiet = prefs.quiet_hours
    return {
        "title": "My preferences",
        "offered": offered,
        "ranks": [(label, chosen[i] if i < len(chosen) else "") for i, label in enumerate(RANKS[: len(offered)])],
        "quiet_start": f"{quiet.start:%H:%M}" if quiet else "",
        "quiet_end": f"{quiet.end:%H:%M}" if quiet else "",
        "time_zone": quiet.time_zone if quiet else "",
        "surveys": prefs.surveys,
        "language": prefs.language,
        "languages": _languages(prefs.language),
        "services": [s for s in desk.services if s.key in _theirs(profile)],
        "subscribed": set(profile.subscriptions),
        "changes": desk.preference_changes(me.id, limit=5),
    }


def _languages(current: str) -> list[tuple[str, str]]:
    """The languages a customer may choose (those with catalogs, and theirs), each named in itself."""
    from babel import Locale

    codes = list(dict.fromkeys([*languages((LOCALE_DIR,)), current]))
    return [(code, Locale.parse(code).get_display_name(code).capitalize()) for code in codes]


def _theirs(profile: Any) -> set[str]:
    """Services a customer may hear about here: those they follow, use (their CIs) or asked about."""
    used = {ci.attributes.get("service") for ci in profile.items}
    asked = {d.service_key for d in (*profile.open_demands, *profile.recent_demands)}
    return {k for k in (set(profile.subscriptions) | used | asked) if k}


async def preferences_page(
    request: Request, errors: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None
) -> Response:
    me = await need_customer(request)
    ctx = await call(_context, portal_of(request).desk, me)
    if values:
        ctx |= values
    return await render(request, TEMPLATE, {**ctx, "errors": dict(errors or {})}, status_code=422 if errors else 200)


def _save(
    desk: Any,
    me: Customer,
    channels: Sequence[str],
    quiet: str,
    zone: str,
    surveys: bool,
    shown: set[str],
    ticked: set[str],
    language: str = "",
) -> None:
    """Only the services the page showed are changed: a box not on the page is no "unsubscribe"."""
    desk.set_preferences(
        me.id,
        by=me.id,
        channels=channels,
        quiet_hours=quiet,
        time_zone=zone or None,
        surveys=surveys,
        language=language or None,
    )
    had = set(desk.customer_profile(me.id).subscriptions) & shown
    for key in sorted((ticked - had) & {s.key for s in desk.services}):
        desk.subscribe(me.id, key)
    for key in sorted(had - ticked):
        desk.unsubscribe(me.id, key)


async def preferences_submit(request: Request) -> Response:
    me = await need_customer(request)
    form = await checked_form(request)
    desk = portal_of(request).desk
    channels = [c for c in form.getlist("channel") if isinstance(c, str) and c]
    start, end, zone = field(form, "quiet_start"), field(form, "quiet_end"), field(form, "time_zone")
    quiet = f"{start}-{end}" if start or end else ""
    surveys = field(form, "surveys") == "yes"
    shown = {s for s in form.getlist("shown") if isinstance(s, str)}
    ticked = {s for s in form.getlist("subscribe") if isinstance(s, str)} & shown
    try:
        await call(_save, desk, me, channels, quiet, zone, surveys, shown, ticked, field(form, "language"))
        portal_of(request).reader_languages.drop(me.id)  # the next page is in the language just chosen
    except InvalidInput as e:
        text = str(e)
        where = (
            "time_zone"
            if "time zone" in text
            else "quiet"
            if "quiet" in text
            else "language"
            if "language" in text
            else "channel"
        )
        typed = {"quiet_start": start, "quiet_end": end, "time_zone": zone, "surveys": surveys}
        return await preferences_page(request, {where: text}, typed)
    say(request, N_("Your preferences are saved."))
    return RedirectResponse("/preferences", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/preferences", preferences_page, methods=["GET"]),
        Route("/preferences", preferences_submit, methods=["POST"]),
    ]
