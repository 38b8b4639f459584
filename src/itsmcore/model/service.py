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

    name: str = attrs.field(
        metadata={"doc": "The answer's name (`answers.NAME` in templates); in `[asks.NAME]` it is the table's name."}
    )
    type: AskType = attrs.field(
        default=AskType.TEXT, metadata={"doc": "How the answer is checked: a phone number, an address, a device..."}
    )
    label: str = attrs.field(default="", metadata={"doc": "The question as the customer reads it."})
    help: str = attrs.field(default="", metadata={"doc": "A line under the question, for the customer."})
    choices: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": 'The allowed answers of a `type = "choice"` ask.'}
    )
    required: bool = attrs.field(default=True, metadata={"doc": "Whether the request waits for an answer."})
    prefill: str | None = attrs.field(
        default=None,
        metadata={
            "doc": "What to propose: a customer field or directory attribute (`mobile`), or `device.ATTRIBUTE` of "
            "the customer's one device; the customer is asked only if it is unknown."
        },
    )


@attrs.frozen(kw_only=True)
class Eligibility:
    """Who may have a service. Empty means everyone; lists are alternatives (any match).

    ``check`` names an extra check a plugin answers through ``itsm_check_eligibility``.
    """

    roles: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "Customers with one of these roles may have it."}
    )
    groups: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "Members of one of these directory groups may have it."}
    )
    departments: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "Customers of one of these departments may have it."}
    )
    check: str | None = attrs.field(
        default=None,
        metadata={"doc": "An extra check a plugin answers through the `itsm_check_eligibility` hook."},
    )
    explain: str = attrs.field(
        default="",
        metadata={"doc": 'The rule in plain words ("available to Sales"); made from the lists if empty.'},
    )

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

    name: str = attrs.field(metadata={"doc": 'The point reached, as the desk marks it ("dispatched").'})
    notify: bool = attrs.field(
        default=True,
        metadata={"doc": "Whether the customer is sent a message when it is reached (it is on their journey anyway)."},
    )
    says: str = attrs.field(
        default="", metadata={"doc": 'What the customer is told; "Your {item} was {name}." if empty.'}
    )


def _milestones(value: Any) -> tuple[Milestone, ...]:
    """Milestones as configured: names, or tables with ``notify`` and ``says``."""
    return tuple(Milestone(name=v) if isinstance(v, str) else v for v in to_tuple(value))


@attrs.frozen(kw_only=True)
class HumanTask:
    """A plan step done by people (order the phone, ship it): the plan waits until they say it is done.

    The customer follows it like a parcel: each milestone is on their journey, and the
    status names the latest and when it is expected.
    """

    task: str = attrs.field(
        metadata={"doc": 'What the people do, in words the customer may read ("Order and ship the phone").'}
    )
    team: str = attrs.field(
        default="",
        metadata={"doc": "The team that does it; when `[teams.KEY]` tables exist, one of their keys."},
    )
    expected: str = attrs.field(
        default="",
        metadata={
            "doc": 'When it should be done, from when the task begins: "3 working days", "2 days", or any words.'
        },
    )
    item: str = attrs.field(
        default="order",
        metadata={"doc": 'What the customer waits for, in the default milestone words ("Your phone was dispatched.").'},
    )
    milestones: tuple[Milestone, ...] = attrs.field(
        default=(),
        converter=_milestones,
        validator=_unique_milestones,
        metadata={"doc": "The points the customer hears about: names, or tables (see below); each name once."},
    )

    def milestone(self, name: str) -> Milestone | None:
        return next((m for m in self.milestones if m.name == name), None)


@attrs.frozen(kw_only=True)
class PlanStep:
    """One step of a fulfilment plan: an action name and its parameters, or a task for people.

    In the config a step is an inline table, either ``{ action = "NAME", ... }``, whose other
    keys are the action's plan step keys, or ``{ task = "...", team = "...", ... }`` for people
    to do; never both. The steps run in order, and the first is an action.
    """

    action: str = attrs.field(
        default="",
        metadata={
            "doc": "The action to run: an `[actions.NAME]` table or a component's name (see how it resolves); the "
            "step's other keys are that action's plan step keys."
        },
    )
    #: The step's other keys, as written (the action's parameters).
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
    """A quick-start guide: a link the customer is sent with the outcome."""

    title: str = attrs.field(metadata={"doc": "The guide's title as the customer reads it."})
    url: str = attrs.field(metadata={"doc": "Where it is."})


@attrs.frozen(kw_only=True)
class ExperiencePackage:
    """What the customer gets, beyond the thing itself."""

    facilitating_product: str = attrs.field(
        default="", metadata={"doc": "What comes with it that makes it usable (an app, a headset)."}
    )
    information: str = attrs.field(default="", metadata={"doc": "What the customer is told about it."})
    explicit_benefits: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "What the customer knowingly gets."}
    )
    implicit_benefits: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "What they get without asking (peace of mind, speed)."}
    )


@attrs.frozen(kw_only=True)
class Service:
    """A catalog entry, in the customer's words."""

    key: str = attrs.field(
        metadata={"doc": "The service's id (`--service KEY`, `[journeys.KEY]`); unique across the catalog files."}
    )
    name: str = attrs.field(metadata={"doc": "Its name in the catalog, in the customer's words."})
    description: str = attrs.field(default="", metadata={"doc": "What it is, in plain language; searched."})
    keywords: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "Words customers use for it; a match ranks it first."}
    )
    category: str = attrs.field(default="", metadata={"doc": "The heading it is listed under."})
    kind: DemandKind = attrs.field(
        default=DemandKind.VALUE,
        metadata={"doc": "The kind of demand asking for it makes: a request (value), an incident (failure), a query."},
    )
    eligible: Eligibility = attrs.field(
        factory=Eligibility, metadata={"doc": "Who may have it (see below); everyone if left out."}
    )
    asks: tuple[Ask, ...] = attrs.field(
        default=(),
        converter=to_tuple,
        metadata={
            "doc": "The facts the customer gives: names of `[asks.NAME]` tables or standard asks, or inline tables "
            "(see below). Any other name is a plain text question."
        },
    )
    plan: tuple[PlanStep, ...] = attrs.field(
        default=(),
        converter=to_tuple,
        metadata={
            "doc": "The fulfilment plan, run in order: action steps and task steps (see below). The first step "
            "is an action."
        },
    )
    quick_start: tuple[Link, ...] = attrs.field(
        default=(),
        converter=to_tuple,
        metadata={"doc": "Guides sent with the outcome: tables of `title` and `url` (see below)."},
    )
    subscribers: tuple[str, ...] = attrs.field(
        default=(),
        converter=to_tuple,
        metadata={"doc": "Customer ids told of its announcements, besides its users (fulfilled requests, the CMDB)."},
    )
    experience: ExperiencePackage = attrs.field(
        factory=ExperiencePackage, metadata={"doc": "What the customer gets beyond the thing itself (see below)."}
    )
    expected: str = attrs.field(
        default="",
        metadata={"doc": 'How long it usually takes, in plain words ("within 5 minutes"); the status says it.'},
    )
    owner: str | None = attrs.field(default=None, metadata={"doc": "The customer id of the service's owner."})
    team: str = attrs.field(
        default="",
        metadata={
            "doc": "The `[teams.KEY]` team that owns its demands (`[assignment] default_team` if empty); the team an"
            " assignment falls back to when a policy fails."
        },
    )
    attributes: Mapping[str, Any] = attrs.field(
        factory=dict, metadata={"doc": "Anything else about it, for plugins and reports."}
    )
