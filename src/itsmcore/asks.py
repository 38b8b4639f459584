"""Validating a customer's answers to a service's asks, and filling in what IT knows.

Messages are written for the customer, not for a developer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidAnswers
from .model import Ask, AskType, ConfigurationItem, Customer, Service

_PHONE_STRIP = re.compile(r"[\s\-().]")
_PHONE = re.compile(r"^\+?[0-9]{7,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def prefill(ask: Ask, customer: Customer, items: Sequence[ConfigurationItem]) -> str | None:
    """What the directory or the CMDB already knows for this ask, if anything."""
    devices = [ci for ci in items if ci.kind == "device"]
    if ask.prefill:
        source, _, attr = ask.prefill.partition(".")
        if source == "device" and attr:
            values = {ci.attributes.get(attr) for ci in devices} - {None}
            return values.pop() if len(values) == 1 else None
        value = getattr(customer, ask.prefill, None) or customer.attributes.get(ask.prefill)
        return str(value) if value else None
    if ask.type == AskType.DEVICE and len(devices) == 1:
        return devices[0].id
    return None


def validate_answers(
    service: Service,
    answers: Mapping[str, Any],
    customer: Customer,
    items: Sequence[ConfigurationItem],
) -> dict[str, str]:
    """Return the complete, normalised answers or raise :class:`InvalidAnswers`."""
    errors: dict[str, str] = {}
    out: dict[str, str] = {}
    known = {a.name for a in service.asks}
    for name in answers:
        if name not in known:
            asked = ", ".join(sorted(known)) or "nothing"
            errors[name] = f"{service.name} does not ask for this (it asks for: {asked})"
    for ask in service.asks:
        raw = answers.get(ask.name)
        value = str(raw).strip() if raw is not None else ""
        if not value:
            value = prefill(ask, customer, items) or ""
        if not value:
            if ask.required:
                errors[ask.name] = f"Please tell us {(ask.label or ask.name).lower()}."
            continue
        try:
            out[ask.name] = _check(ask, value, customer, items)
        except ValueError as e:
            errors[ask.name] = str(e)
    if errors:
        raise InvalidAnswers(errors)
    return out


def _check(ask: Ask, value: str, customer: Customer, items: Sequence[ConfigurationItem]) -> str:
    if ask.type == AskType.PHONE:
        phone = _PHONE_STRIP.sub("", value)
        if phone.startswith("00"):
            phone = "+" + phone[2:]
        if not _PHONE.match(phone):
            raise ValueError("Please give a phone number with its country code, like +44 7700 900123.")
        return phone
    if ask.type == AskType.EMAIL:
        if not _EMAIL.match(value):
            raise ValueError("That doesn't look like an email address; it should look like name@example.com.")
        return value
    if ask.type == AskType.CHOICE:
        for choice in ask.choices:
            if choice.casefold() == value.casefold():
                return choice
        raise ValueError(f"Please choose one of: {', '.join(ask.choices)}.")
    if ask.type == AskType.DEVICE:
        devices = [ci for ci in items if ci.kind == "device"]
        for ci in devices:
            if value.casefold() in (ci.id.casefold(), ci.name.casefold()):
                return ci.id
        if not devices:
            raise ValueError("We have no device registered to you; the service desk can register it.")
        names = ", ".join(f"{ci.name} ({ci.id})" for ci in devices)
        raise ValueError(f"That device isn't registered to you. Your devices: {names}.")
    if len(value) > 4000:
        raise ValueError("That is too long; please keep it under 4,000 characters.")
    return value
