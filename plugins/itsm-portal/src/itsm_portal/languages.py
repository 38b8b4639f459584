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

from itsmcore import Customer, NotFound, Translator, languages, translator

if TYPE_CHECKING:
    from starlette.templating import Jinja2Templates

    from .app import Portal

#: This plugin's catalogs (found by the desk too, through the plugin manager).
LOCALE_DIR = Path(__file__).parent / "locale"
#: How long a reader's language, once read, is used for their pages without reading it again. A
#: change made on this portal's preferences page counts at once; one made elsewhere (the CLI,
#: another worker process) within this many seconds.
READER_LANGUAGE_SECONDS = 30.0


def page_translator(
    portal: Portal, customer: Customer | None, token: str | None = None, accept: str | None = None
) -> Translator:
    """The language of a page for ``customer``: theirs; signed out, that of the customer a signed link
    (``token``) was made for; else the first of the browser's languages (``accept``, its
    ``Accept-Language`` header) the portal speaks; else the deployment's default."""
    reader = customer.id if customer is not None else portal.desk.link_reader(token) if token else None
    if reader is not None:
        try:
            language = portal.desk.preferences(reader).language
        except NotFound:  # a link for a customer the directory no longer knows
            pass
        else:
            portal.reader_languages.put(reader, language)
            return translator(language, (LOCALE_DIR,))
    elif accept:
        wanted = browser_language(accept, languages((LOCALE_DIR,)))
        if wanted is not None:
            return translator(wanted, (LOCALE_DIR,))
    return translator(portal.desk.config.deployment.language, (LOCALE_DIR,))


def known_translator(portal: Portal, customer: Customer | None) -> Translator | None:
    """A signed-in customer's page translator when their language was read in the last
    :data:`READER_LANGUAGE_SECONDS` (no trip to the store); ``None`` otherwise."""
    if customer is None:
        return None
    found = portal.reader_languages.get(customer.id)
    return None if found is None else translator(found, (LOCALE_DIR,))


def browser_language(accept: str, spoken: list[str]) -> str | None:
    """The first language of an ``Accept-Language`` header (by its ``q`` weights) among ``spoken``.

    ``fr-CH, fr;q=0.9, en;q=0.8`` with French and English spoken is French; a malformed
    entry is skipped, and a header of nothing spoken is ``None``.
    """
    from babel.core import negotiate_locale

    weighted: list[tuple[float, int, str]] = []
    for n, part in enumerate(accept[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and q > 0:
            weighted.append((-q, n, tag.replace("_", "-")))
    preferred = [tag for _, _, tag in sorted(weighted)]
    return negotiate_locale(preferred, spoken, sep="-") if preferred else None


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
