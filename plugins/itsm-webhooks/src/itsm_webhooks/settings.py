"""The ``[webhooks]`` table: how deliveries are made, where they may go, and subscriptions declared in config."""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from itsmcore import ConfigError, ConfigProblem

from .events import EVENT_TYPES, unknown_event_problem


@attrs.frozen(kw_only=True)
class DeclaredSubscription:
    """A ``[webhooks.subscriptions.NAME]`` table: kept in step with the store when a desk opens."""

    name: str
    url: str
    events: tuple[str, ...]
    services: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class WebhookSettings:
    """What ``[webhooks]`` says; every key optional."""

    #: Attempts a delivery gets before it is dead (``itsm jobs list --state dead``).
    max_attempts: int = 8
    #: Seconds before the first retry; doubled each attempt, up to ``retry_cap``.
    retry_base: float = 5.0
    retry_cap: float = 3600.0
    #: Seconds to connect, send and read the receiver's answer.
    timeout: float = 10.0
    #: Bytes of a receiver's answer read (and kept, up to 2,000 of them); the rest is not read.
    response_limit: int = 65536
    #: Networks deliveries may reach although they are loopback, link-local or otherwise
    #: reserved (``["127.0.0.1/32"]`` for a receiver on this machine). Empty: none.
    allow_addresses: tuple[str, ...] = ()
    #: Hours the previous secret keeps signing after ``itsm webhook rotate``.
    rotation_overlap_hours: float = 24.0
    subscriptions: tuple[DeclaredSubscription, ...] = ()

    def allowed_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(a, strict=False) for a in self.allow_addresses]

    def retry_delay(self, attempt: int) -> float:
        """Seconds before retry number ``attempt`` (1-based)."""
        return float(min(self.retry_cap, self.retry_base * (2 ** max(0, attempt - 1))))


_NUMBERS: Mapping[str, tuple[type, float]] = {
    "max_attempts": (int, 1),
    "retry_base": (float, 0),
    "retry_cap": (float, 0),
    "timeout": (float, 0.01),
    "response_limit": (int, 1),
    "rotation_overlap_hours": (float, 0),
}
_SUBSCRIPTION_KEYS = ("url", "events", "services", "kinds")


def read_settings(raw: Any, file: str) -> WebhookSettings:
    """Build the settings from the raw ``[webhooks]`` table; a :class:`ConfigError` names each problem."""
    problems: list[ConfigProblem] = []
    if raw is None:
        return WebhookSettings()
    if not isinstance(raw, Mapping):
        raise ConfigError([ConfigProblem(file, "webhooks", "expected a table ([webhooks])")])
    known = [f.name for f in attrs.fields(WebhookSettings)]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"webhooks.{key}"
        if key not in known:
            problems.append(ConfigProblem(file, path, "unknown setting", _hint(key, known)))
        elif key in _NUMBERS:
            kind, least = _NUMBERS[key]
            ok = (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and (kind is float or isinstance(value, int))
            )
            if not ok or value < least:
                what = "a whole number" if kind is int else "a number"
                problems.append(ConfigProblem(file, path, f"expected {what} of at least {least:g}, got {value!r}"))
            else:
                values[key] = kind(value)
        elif key == "allow_addresses":
            values[key] = _networks(value, file, path, problems)
        elif key == "subscriptions":
            values[key] = _subscriptions(value, file, problems)
    if problems:
        raise ConfigError(problems)
    return WebhookSettings(**values)


def _hint(word: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    listing = ", ".join(sorted(known))
    return f"did you mean {close[0]!r}? Known: {listing}" if close else f"known: {listing}"


def _strings(value: Any, file: str, path: str, problems: list[ConfigProblem]) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(ConfigProblem(file, path, f"expected a list of strings, got {value!r}"))
        return None
    return tuple(value)


def _networks(value: Any, file: str, path: str, problems: list[ConfigProblem]) -> tuple[str, ...]:
    items = _strings(value, file, path, problems) or ()
    for i, item in enumerate(items):
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            problems.append(
                ConfigProblem(file, f"{path}[{i}]", f"expected an address or network like 127.0.0.1/32, got {item!r}")
            )
    return items


def _subscriptions(value: Any, file: str, problems: list[ConfigProblem]) -> tuple[DeclaredSubscription, ...]:
    if not isinstance(value, Mapping):
        problems.append(
            ConfigProblem(file, "webhooks.subscriptions", "expected tables ([webhooks.subscriptions.NAME])")
        )
        return ()
    out = []
    for name, table in value.items():
        path = f"webhooks.subscriptions.{name}"
        if not isinstance(table, Mapping):
            problems.append(ConfigProblem(file, path, "expected a table"))
            continue
        for key in table:
            if key not in _SUBSCRIPTION_KEYS:
                problems.append(ConfigProblem(file, f"{path}.{key}", "unknown setting", _hint(key, _SUBSCRIPTION_KEYS)))
        url = table.get("url")
        if not isinstance(url, str) or not url:
            problems.append(ConfigProblem(file, f"{path}.url", "expected the receiver's URL (a string)"))
            continue
        events = _strings(table.get("events", ["*"]), file, f"{path}.events", problems) or ()
        for i, ev in enumerate(events):
            if (problem := unknown_event_problem(ev)) is not None:
                problems.append(ConfigProblem(file, f"{path}.events[{i}]", *problem))
        services = _strings(table.get("services", []), file, f"{path}.services", problems) or ()
        kinds = _strings(table.get("kinds", []), file, f"{path}.kinds", problems) or ()
        out.append(DeclaredSubscription(name=name, url=url, events=events, services=services, kinds=kinds))
    return tuple(out)


__all__ = ["EVENT_TYPES", "DeclaredSubscription", "WebhookSettings", "read_settings"]
