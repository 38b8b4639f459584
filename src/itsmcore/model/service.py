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


def _unique_milestones(_instance: Any, _attribute: Any, value: tuple[Milestone, ...]) -> None:
    names = [m.name for m in value]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"milestones: each milestone once; given twice: {', '.join(twice)}")
    if any(not n.strip() for n in names):
        raise ValueError("milestones: a milestone needs a name")


@attrs.frozen(kw_only=True)
class Milestone:
    """A point a person reaches in a task that the customer hears about ("dispatched")."""

    name: str
    #: Whether the customer is sent a message when it is reached (it is on their journey either way).
    notify: bool = True
    #: What the customer is told; default "Your {item} was {name}."
    says: str = ""


def _milestones(value: Any) -> tuple[Milestone, ...]:
    """Milestones as configured: names, or tables with ``notify`` and ``says``."""
    return tuple(Milestone(name=v) if isinstance(v, str) else v for v in to_tuple(value))


@attrs.frozen(kw_only=True)
class HumanTask:
    """A plan step done by people (order the phone, ship it): the plan waits until they say it is done.

    The customer follows it like a parcel: each milestone is on their journey, and the
    status names the latest and when it is expected.
    """

    #: What the people do, in words the customer may read ("Order and ship the phone").
    task: str
    #: The team that does it; free text, like a demand's team.
    team: str = ""
    #: When it should be done, from when the task begins: "3 working days", "2 days", or any words.
    expected: str = ""
    #: What the customer is waiting for, for the default milestone words ("Your phone was dispatched.").
    item: str = "order"
    milestones: tuple[Milestone, ...] = attrs.field(default=(), converter=_milestones, validator=_unique_milestones)

    def milestone(self, name: str) -> Milestone | None:
        return next((m for m in self.milestones if m.name == name), None)


@attrs.frozen(kw_only=True)
class PlanStep:
    """One step of a fulfilment plan: an action name and its parameters, or a task for people."""

    action: str = ""
    params: Mapping[str, Any] = attrs.field(factory=dict)
    #: ``params`` built into the action's own params class once plugins are loaded.
    resolved: Any = attrs.field(default=None, eq=False)
    #: Set on a step that people do; such a step has no ``action``.
    task: HumanTask | None = None
    #: Once resolved, what ``action`` names: ``actions.NAME`` (a config table) or ``NAME`` (a
    #: component used with its default settings).
    source: str = attrs.field(default="", eq=False)


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
