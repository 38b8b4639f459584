"""Portal pages in the customer's language: one Jinja2 environment per language, built once.

Templates mark text with ``{{ _("Find a service") }}`` and fill placeholders the way every
itsmcore message does (``{{ _("Follow #{id}", id=d.id) }}``). The translations are the
customer's :class:`itsmcore.Translator` (the core's catalog) with this plugin's own catalog
(``locale/<lang>/LC_MESSAGES/itsm_portal.po``) merged over it. Agents' pages stay English.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from itsmcore import Customer, NotFound, Translator, translator

if TYPE_CHECKING:
    from starlette.templating import Jinja2Templates

    from .app import Portal

#: This plugin's catalogs (found by the desk too, through the plugin manager).
LOCALE_DIR = Path(__file__).parent / "locale"


def page_translator(portal: Portal, customer: Customer | None, token: str | None = None) -> Translator:
    """The language of a page for ``customer``: theirs; signed out, that of the customer a signed link
    (``token``) was made for; else the deployment's default."""
    reader = customer.id if customer is not None else portal.desk.link_reader(token) if token else None
    if reader is not None:
        try:
            return translator(portal.desk.preferences(reader).language, (LOCALE_DIR,))
        except NotFound:  # a link for a customer the directory no longer knows
            pass
    return translator(portal.desk.config.deployment.language, (LOCALE_DIR,))


def templates_for(portal: Portal, tr: Translator) -> Jinja2Templates:
    """The portal's templates speaking ``tr``'s language (built on first use, then kept)."""
    from .views import make_templates

    cache = portal.templates_by_language
    if tr.locale not in cache:
        cache[tr.locale] = make_templates(portal, tr)
    return cache[tr.locale]


def when(tr: Translator, value: datetime | None) -> str:
    """A moment on a page: "04 Dec 2026, 17:05 UTC"; in another language its own medium date and time."""
    if value is None:
        return ""
    if tr.english:
        return value.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")
    from babel.dates import format_datetime

    return format_datetime(value.astimezone(UTC), "medium", tzinfo=UTC, locale=tr.locale) + " UTC"
