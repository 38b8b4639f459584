"""The one view of a customer on the desk's pages: :meth:`itsmcore.Desk.customer_profile`, shown by
``templates/desk/_customer_profile.html`` (beside a demand's journey)."""

from __future__ import annotations

from typing import Any

from itsmcore import Desk, NotFound


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
