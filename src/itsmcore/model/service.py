"""Catalog services: what a customer can ask for and what happens when they do."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from ._convert import to_tuple
from .demand import DemandKind


class AskType(enum.StrEnum):
    """The kinds of fact a service can ask a customer for."""

    TEXT = "text"
    CHOICE = "choice"
    PHONE = "phone"
    EMAIL = "email"
    DEVICE = "device"


@attrs.frozen(kw_only=True)
class Ask:
    """One fact the customer must give; everything else is filled in for them."""

    name: str
    type: AskType = AskType.TEXT
    label: str = ""
    help: str = ""
    choices: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    required: bool = True
    prefill: str | None = None  # customer attribute to propose, e.g. "mobile"


@attrs.frozen(kw_only=True)
class Eligibility:
    """Who may have a service. Empty means everyone; lists are alternatives (any match).

    ``check`` names an extra check a plugin answers through ``itsm_check_eligibility``.
    """

    roles: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    groups: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    departments: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    check: str | None = None
    explain: str = ""  # plain-language rule, e.g. "available to Sales"

    @property
    def is_open(self) -> bool:
        return not (self.roles or self.groups or self.departments or self.check)


@attrs.frozen(kw_only=True)
class PlanStep:
    """One step of a fulfilment plan: an action name and its parameters."""

    action: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    #: ``params`` built into the action's own params class once plugins are loaded.
    resolved: Any = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class Link:
    title: str
    url: str


@attrs.frozen(kw_only=True)
class ExperiencePackage:
    """What the customer gets, beyond the thing itself."""

    facilitating_product: str = ""
    information: str = ""
    explicit_benefits: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    implicit_benefits: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)


@attrs.frozen(kw_only=True)
class Service:
    """A catalog entry, in the customer's words."""

    key: str
    name: str
    description: str = ""
    keywords: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    category: str = ""
    kind: DemandKind = DemandKind.VALUE
    eligible: Eligibility = attrs.field(factory=Eligibility)
    asks: tuple[Ask, ...] = attrs.field(default=(), converter=to_tuple)
    plan: tuple[PlanStep, ...] = attrs.field(default=(), converter=to_tuple)
    quick_start: tuple[Link, ...] = attrs.field(default=(), converter=to_tuple)
    subscribers: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    experience: ExperiencePackage = attrs.field(factory=ExperiencePackage)
    expected: str = ""  # plain words: "within 5 minutes", "2 working days"
    owner: str | None = None  # customer id of the service owner
    attributes: Mapping[str, Any] = attrs.field(factory=dict)
