"""Customers (the people IT serves) and their configuration items."""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from ._convert import to_tuple


@attrs.frozen(kw_only=True)
class Customer:
    """A person the IT organisation serves, as the directory describes them.

    ``preferred_channels`` lists channel names in the order the customer wants to be
    reached; the desk falls back to the deployment's default channel.
    """

    id: str
    name: str
    email: str | None = None
    mobile: str | None = None
    role: str | None = None
    department: str | None = None
    groups: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    manager: str | None = None
    preferred_channels: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    attributes: Mapping[str, str] = attrs.field(factory=dict)


class CIKind(enum.StrEnum):
    DEVICE = "device"
    APPLICATION = "application"


@attrs.frozen(kw_only=True)
class ConfigurationItem:
    """A device or application in the CMDB, owned by a customer (or nobody)."""

    id: str
    kind: CIKind
    name: str
    owner: str | None = None
    attributes: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class CustomerMatch:
    """One customer found by the desk's search, with what a pick list shows to tell them apart."""

    id: str
    name: str
    email: str = ""
    phone: str = ""
    role: str = ""
