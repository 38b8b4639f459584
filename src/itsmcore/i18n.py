"""Customer-facing text in the customer's language: gettext catalogs managed with Babel, and locale formats.

Nothing here is global and mutable: a :class:`Translator` is one locale's catalog and
formats, handed explicitly to whatever renders text for a customer (the status model,
messages, portal pages). :func:`translator` builds them once per locale and set of catalog
directories and caches them.

Messages are written in English in the code, with ``{name}`` placeholders filled by
calling a :class:`Translator` (``str.format``), never by f-strings, so the English text is the
message id. Text that is decided in one place and sent later (a notify job's message) is
kept as a :class:`Say` (message id and values, JSON-friendly) and rendered for each
recipient when it goes out.

Catalogs live in ``locale/<lang>/LC_MESSAGES/<domain>.mo`` beside the core package
(domain ``itsmcore``) and beside any plugin package that ships one: the plugin manager
lists the plugins, and each one's top-level package is searched for a ``locale`` directory
(see :func:`plugin_locale_dirs`). Plugin catalogs are merged over the core's.
"""

from __future__ import annotations

import functools
import gettext
import logging
import string
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import attrs

DOMAIN = "itsmcore"
#: The core's catalogs.
LOCALE_DIR = Path(__file__).parent / "locale"
#: The language messages are written in; its catalog is the message ids themselves.
SOURCE_LANGUAGE = "en"

log = logging.getLogger("itsmcore.i18n")

#: A message kept for later rendering: ``{"id": msgid, "v": {name: value}}``; a value may itself be one.
Say = dict[str, Any]


def N_(msgid: str) -> str:
    """Mark ``msgid`` for extraction without translating it now (a constant rendered later)."""
    return msgid


def later(msgid: str, **values: Any) -> Say:
    """A message to render later, per recipient: its English id and the values of its placeholders."""
    return {"id": msgid, "v": values}


@attrs.frozen(eq=False)
class Translator:
    """One locale's catalog and formats: ``tr("Fixed: {title}", title=...)`` gives the text in that language."""

    locale: str
    translations: gettext.NullTranslations = attrs.field(repr=False)

    @property
    def english(self) -> bool:
        return self.locale.split("_")[0] == SOURCE_LANGUAGE

    def __call__(self, msgid: str, /, **values: Any) -> str:
        """``msgid`` in this language with its ``{placeholders}`` filled."""
        text = self.translations.gettext(msgid) if msgid else msgid
        return _fill(text, msgid, values)

    def ngettext(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        """The singular or plural form for ``n`` (``{n}`` is filled too)."""
        text = self.translations.ngettext(singular, plural, n)
        return _fill(text, singular, {"n": self.number(n), **values})

    def render(self, message: Mapping[str, Any] | str | Sequence[Mapping[str, Any] | str]) -> str:
        """A :class:`Say` (or a list of them, joined by spaces) in this language; plain text stays as it is."""
        if isinstance(message, str):
            return message
        if isinstance(message, Mapping):
            values = {k: self.render(v) if isinstance(v, Mapping) else v for k, v in message.get("v", {}).items()}
            return self(str(message["id"]), **values)
        return " ".join(p for p in (self.render(m) for m in message) if p)

    # -- formats ---------------------------------------------------------------------------------

    def number(self, value: float) -> str:
        from babel.numbers import format_decimal

        return str(value) if self.english and isinstance(value, int) else format_decimal(value, locale=self.locale)

    def date(self, at: datetime) -> str:
        """A day as people say it: "Thursday 4 December", "jeudi 4 décembre"."""
        from babel.dates import format_date

        if self.english:
            return f"{at:%A} {at.day} {at:%B}"
        return format_date(at, "EEEE d MMMM", locale=self.locale)

    def clock(self, at: datetime) -> str:
        """A time of day: "3 pm", "9:30 am", "noon" in English; the locale's short time elsewhere ("15:00")."""
        if self.english:
            if (at.hour, at.minute) == (12, 0):
                return "noon"
            hour = at.hour % 12 or 12
            return f"{hour}{f':{at.minute:02d}' if at.minute else ''} {'am' if at.hour < 12 else 'pm'}"
        from babel.dates import format_time

        return format_time(at, "short", locale=self.locale)

    def ago(self, delta: timedelta) -> str:
        """How long ago, in whole minutes, hours (under two days) or days: "2 hours ago", "il y a 2 heures"."""
        minutes = int(delta.total_seconds() // 60)
        if minutes < 1:
            return self(N_("just now"))
        unit: Literal["minute", "hour", "day"]
        if minutes < 60:
            unit, n = "minute", minutes
        elif minutes < 48 * 60:
            unit, n = "hour", minutes // 60
        else:
            unit, n = "day", minutes // (24 * 60)
        if self.english:
            return f"{n} {unit} ago" if n == 1 else f"{n} {unit}s ago"
        from babel.dates import format_timedelta

        seconds = {"minute": 60, "hour": 3600, "day": 86400}[unit] * n
        return format_timedelta(
            timedelta(seconds=-seconds), granularity=unit, threshold=10**6, add_direction=True, locale=self.locale
        )


def _fill(text: str, msgid: str, values: Mapping[str, Any]) -> str:
    if not values:
        return text
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        # a broken translation must never cost the customer the message: the English one goes
        log.warning("translation of %r cannot be filled; the source text is used", msgid)
        return msgid.format(**values)


def placeholders(text: str) -> set[str]:
    """The ``{names}`` in ``text``; ValueError when a brace is unbalanced (``{name``)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@functools.lru_cache(maxsize=64)
def translator(locale: str | None = None, dirs: tuple[Path, ...] = ()) -> Translator:
    """The :class:`Translator` for ``locale`` (cached): the core catalog, then those in ``dirs`` merged over it.

    A locale with no catalog falls back through its language (``fr_CH`` → ``fr``) to the
    source language, English.
    """
    from babel.support import Translations

    code = locale or SOURCE_LANGUAGE
    wanted = [code, code.split("_")[0]]
    merged: gettext.NullTranslations = gettext.NullTranslations()
    core = Translations.load(str(LOCALE_DIR), wanted, DOMAIN)
    if isinstance(core, Translations):
        merged = core
    for d in dirs:
        for mo in sorted(d.glob(f"{wanted[-1]}/LC_MESSAGES/*.mo")) + sorted(d.glob(f"{code}/LC_MESSAGES/*.mo")):
            extra = Translations.load(str(d), wanted, mo.stem)
            if not isinstance(extra, Translations):
                continue
            if isinstance(merged, Translations):
                merged.merge(extra)
            else:
                merged = extra
    return Translator(locale=code, translations=merged)


def plugin_locale_dirs(plugins: Iterable[object]) -> tuple[Path, ...]:
    """The ``locale`` directories of the packages the given plugin objects come from (modules or instances)."""
    found: list[Path] = []
    for plugin in plugins:
        name = plugin.__name__ if isinstance(plugin, type(sys)) else type(plugin).__module__
        top = sys.modules.get(name.split(".")[0])
        where = getattr(top, "__file__", None)
        if not where or name.split(".")[0] == "itsmcore":
            continue
        d = Path(where).parent / "locale"
        if d.is_dir() and d not in found:
            found.append(d)
    return tuple(found)


def languages(dirs: Iterable[Path] = ()) -> list[str]:
    """The languages with a catalog in the core (and ``dirs``), the source language first."""
    codes = {p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/*.mo")}
    for d in dirs:
        codes |= {p.parent.parent.name for p in d.glob("*/LC_MESSAGES/*.mo")}
    return [SOURCE_LANGUAGE, *sorted(codes - {SOURCE_LANGUAGE})]
