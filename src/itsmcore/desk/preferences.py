"""Contact preferences the customer controls, laid over what the directory says.

A stored value wins; a null one means "as the directory says". Every change is kept as a
:class:`~itsmcore.model.PreferenceChange` (an audit entry outside any journey).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import insert, select, update

from ..errors import InvalidInput
from ..i18n import Translator, plugin_locale_dirs, translator
from ..model import Customer, PreferenceChange, Preferences, QuietHours
from ..store import tables as t
from ..store.rows import aware
from .context import Context
from .customers import Customers

log = logging.getLogger("itsmcore.desk")

P = t.customer_preferences
#: Inside :meth:`PreferenceBook.read_once`: the preferences read so far, by customer id.
_READ: ContextVar[dict[str, Preferences] | None] = ContextVar("itsm_preferences_read", default=None)
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
#: Directory attributes that may carry a customer's language (the file directory, LDAP/AD).
LANGUAGE_ATTRIBUTES = ("language", "preferredLanguage", "preferred_language")
#: Purposes of a message that go out even in quiet hours: an outage and what to do meanwhile.
URGENT_PURPOSES = frozenset({"announcement", "workaround"})


@functools.lru_cache(maxsize=512)
def language_code(value: str) -> str | None:
    """``value`` as a normalised locale code (``fr``, ``pt_BR``), or None when Babel knows no such locale."""
    from babel import Locale, UnknownLocaleError

    text = value.strip().replace("-", "_")
    if not text or len(text) > 35:
        return None
    try:
        return str(Locale.parse(text))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def parse_quiet_hours(span: str, time_zone: str) -> QuietHours:
    """``"22:00-07:00"`` in ``time_zone``; InvalidInput naming what is wrong."""
    start, sep, end = span.partition("-")
    m1, m2 = _HHMM.match(start.strip()), _HHMM.match(end.strip())
    if not sep or m1 is None or m2 is None:
        raise InvalidInput(f"quiet hours {span!r}: expected HH:MM-HH:MM, e.g. 22:00-07:00")
    return QuietHours(
        start=time(int(m1[1]), int(m1[2])), end=time(int(m2[1]), int(m2[2])), time_zone=check_time_zone(time_zone)
    )


def check_time_zone(name: str) -> str:
    from ..config import did_you_mean

    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise InvalidInput(f"unknown time zone {name!r}; {did_you_mean(name, available_timezones())}") from None
    return name


class PreferenceBook:
    def __init__(self, ctx: Context, customers: Customers, channels: Callable[[], dict[str, Any]]):
        self.ctx = ctx
        self.customers = customers
        self.channels = channels
        self._told: set[tuple[str, str]] = set()
        self._locale_dirs: tuple[Any, ...] | None = None

    def translator(self, customer: str | Customer) -> Translator:
        """The customer's language as a :class:`~itsmcore.i18n.Translator`, with the plugins' catalogs merged in."""
        if self._locale_dirs is None:
            self._locale_dirs = plugin_locale_dirs(self.ctx.deployment.host.pm.get_plugins())
        return translator(self.get(customer).language, self._locale_dirs)

    def offered(self, customer: Customer) -> list[str]:
        """Channels the deployment offers that can reach this customer (an address for them), in config order."""
        return [
            name
            for name, chan in self.channels().items()
            if not getattr(chan, "inbox", False) and chan.address_for(customer)  # the inbox is always there
        ]

    def get(self, customer: str | Customer) -> Preferences:
        c = self.customers.resolve(customer)
        memo = _READ.get()
        if memo is not None and c.id in memo:
            return memo[c.id]
        with self.ctx.reads.connect() as conn:
            row = conn.execute(select(P).where(P.c.customer_id == c.id)).first()
        prefs = self._merge(c, row)
        if memo is not None:
            memo[c.id] = prefs
        return prefs

    @contextmanager
    def read_once(self) -> Iterator[None]:
        """Within the block each customer's preferences are read from the store once.

        A message asks three questions of them (quiet hours, channels, language); one
        delivery job should not pay three reads. Each thread or task has its own block.
        """
        token = _READ.set({})
        try:
            yield
        finally:
            _READ.reset(token)

    def _merge(self, c: Customer, row: Any) -> Preferences:
        default = self.ctx.config.deployment.language
        language = self._language(c, row.language if row is not None else None) or default
        if row is None:
            return Preferences(customer_id=c.id, channels=c.preferred_channels, language=language)
        quiet = None
        if row.quiet_start and row.quiet_end:
            quiet = QuietHours(
                start=time.fromisoformat(row.quiet_start),
                end=time.fromisoformat(row.quiet_end),
                time_zone=row.time_zone or "UTC",
            )
        return Preferences(
            customer_id=c.id,
            channels=tuple(row.channels.split()) if row.channels is not None else c.preferred_channels,
            quiet_hours=quiet,
            language=language,
            surveys=row.surveys is not False,
            source="customer",
            updated_at=aware(row.updated_at),
            updated_by=row.updated_by,
        )

    def _language(self, c: Customer, chosen: str | None) -> str | None:
        """The customer's choice, else the directory's; an unknown code is skipped and logged once."""
        candidates = [chosen] + [c.attributes.get(a) for a in LANGUAGE_ATTRIBUTES]
        for value in candidates:
            if not value:
                continue
            code = language_code(str(value))
            if code is not None:
                return code
            if (c.id, str(value)) not in self._told:
                self._told.add((c.id, str(value)))
                log.warning("customer %s: unknown language %r; the deployment's default is used", c.id, value)
        return None

    def set(
        self,
        customer: str,
        *,
        by: str,
        channels: Sequence[str] | None = None,
        quiet_hours: str | None = None,
        time_zone: str | None = None,
        language: str | None = None,
        surveys: bool | None = None,
    ) -> Preferences:
        """Change what is given (``quiet_hours=""`` clears them); InvalidInput names what cannot be used."""
        c = self.customers.get(customer)
        values: dict[str, Any] = {}
        if channels is not None:
            offered = self.offered(c)
            wanted = list(dict.fromkeys(ch.strip() for ch in channels if ch.strip()))
            unknown = [ch for ch in wanted if ch not in offered]
            if unknown:
                raise InvalidInput(
                    f"channel {unknown[0]!r} cannot reach {c.name}; the channels offered are: "
                    + (", ".join(offered) or "none (messages wait on the portal)")
                )
            values["channels"] = " ".join(wanted)
        if quiet_hours is not None:
            if quiet_hours.strip():
                q = parse_quiet_hours(quiet_hours, time_zone or "UTC")
                values |= {"quiet_start": f"{q.start:%H:%M}", "quiet_end": f"{q.end:%H:%M}", "time_zone": q.time_zone}
            else:
                values |= {"quiet_start": None, "quiet_end": None}
        elif time_zone is not None:
            values["time_zone"] = check_time_zone(time_zone)
        if language is not None:
            code = language_code(language)
            if code is None:
                raise InvalidInput(f"unknown language {language!r}; use a code such as en, fr or de_CH")
            values["language"] = code
        if surveys is not None:
            values["surveys"] = surveys
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            row = conn.execute(select(P).where(P.c.customer_id == c.id)).first()
            before = self._merge(c, row)
            if row is None:
                conn.execute(insert(P).values(customer_id=c.id, updated_at=now, updated_by=by, **values))
            else:
                conn.execute(update(P).where(P.c.customer_id == c.id).values(updated_at=now, updated_by=by, **values))
            after = self._merge(c, conn.execute(select(P).where(P.c.customer_id == c.id)).first())
            changes = [
                {"customer_id": c.id, "field": f, "old": old, "new": new, "by": by, "at": now}
                for f, old, new in _diff(before, after)
            ]
            if changes:
                conn.execute(insert(t.preference_changes), changes)
        return after

    def changes(self, customer: str, limit: int = 50) -> list[PreferenceChange]:
        q = (
            select(t.preference_changes)
            .where(t.preference_changes.c.customer_id == customer)
            .order_by(t.preference_changes.c.id.desc())
            .limit(limit)
        )
        with self.ctx.engine.connect() as conn:
            return [
                PreferenceChange(
                    customer_id=r.customer_id, field=r.field, old=r.old, new=r.new, by=r.by, at=aware(r.at) or r.at
                )
                for r in conn.execute(q)
            ]

    def hold_until(self, customer: Customer, purpose: str, urgent: bool = False) -> Any:
        """When a message of ``purpose`` may go to ``customer``: None for now, else the end of their quiet hours."""
        if urgent or purpose in URGENT_PURPOSES:
            return None
        prefs = self.get(customer)
        now = self.ctx.clock()
        if prefs.quiet_hours is None or not prefs.quiet_hours.contains(now):
            return None
        return prefs.quiet_hours.ends_after(now)


def _diff(before: Preferences, after: Preferences) -> list[tuple[str, str, str]]:
    def show(p: Preferences) -> dict[str, str]:
        return {
            "channels": ", ".join(p.channels),
            "quiet_hours": str(p.quiet_hours) if p.quiet_hours else "",
            "language": p.language,
            "surveys": "yes" if p.surveys else "no",
        }

    a, b = show(before), show(after)
    return [(k, a[k], b[k]) for k in a if a[k] != b[k]]
