"""Relationships between configuration items, and what an outage of one affects."""

from __future__ import annotations

import enum

import attrs


class RelationshipType(enum.StrEnum):
    """How two configuration items (or an item and a service) are related.

    ``ci RUNS_ON target``, ``ci DEPENDS_ON target``: an outage of the target affects the CI.
    ``ci CONNECTS_TO target``: either one's outage affects the other. ``ci PROVIDES
    service``: an outage of the CI affects the catalog service.
    """

    RUNS_ON = "runs_on"
    DEPENDS_ON = "depends_on"
    CONNECTS_TO = "connects_to"
    PROVIDES = "provides"


@attrs.frozen(kw_only=True)
class Relationship:
    """One relationship: ``ci`` (a CI id) ``type`` ``target`` (a CI id) or ``service`` (a catalog key).

    Exactly one of ``target`` and ``service`` is set: ``service`` with ``provides``, ``target``
    with the others. ``origin`` says where it was declared (``file:line`` or a plugin's name).
    """

    ci: str
    type: RelationshipType = attrs.field(converter=RelationshipType)
    target: str | None = None
    service: str | None = None
    origin: str = ""


@attrs.frozen(kw_only=True)
class ImpactedItem:
    """A configuration item an outage reaches, ``depth`` relationships away from the one that failed."""

    ci: str
    depth: int
    name: str = ""


@attrs.frozen(kw_only=True)
class Impact:
    """What an outage of ``ci`` affects, walking its relationships up to ``depth`` steps.

    ``cycles`` names the items where the walk came back to an item already on its path: the
    walk stopped there (it always terminates) and says so.
    """

    ci: str
    depth: int
    items: tuple[ImpactedItem, ...] = ()
    services: tuple[str, ...] = ()
    subscribers: tuple[str, ...] = ()
    open_demands: tuple[int, ...] = ()
    cycles: tuple[str, ...] = ()
