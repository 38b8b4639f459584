"""One view of a customer: who they are, what they have, what they asked for and how it felt.

The desk builds a :class:`CustomerProfile` from the directory and the store
(:meth:`itsmcore.Desk.customer_profile`); the CLI, the desk's pages and the API show the
same object, so an agent sees the same customer wherever they look (the *seamless* attribute).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import attrs

from ._convert import to_tuple
from .announcement import Announcement
from .customer import ConfigurationItem, Customer
from .preferences import Preferences
from .review import Review
from .survey import SurveyResponse


class Trend(enum.StrEnum):
    """How the customer's latest answer compares with their previous one of the same method."""

    BETTER = "better"
    WORSE = "worse"
    SAME = "same"
    FIRST = "first answer"
    NONE = "no answers"


@attrs.frozen(kw_only=True)
class DemandSummary:
    """One of the customer's demands as a list shows it, with the sentence the customer reads."""

    id: int
    kind: str
    summary: str
    service_key: str | None
    channel: str
    state: str
    status: str
    created_at: datetime
    finished: bool


@attrs.frozen(kw_only=True)
class CustomerProfile:
    """Everything the desk knows about one customer, gathered once.

    ``open_demands`` are the ones not yet finished as the customer reads them, newest first;
    ``recent_demands`` the latest finished ones (a request done but not yet confirmed among them). ``channels`` counts the customer's demands per channel they came by.
    ``trend`` compares the latest survey answer with the previous one of the same method;
    ``preferences`` are the customer's own choices laid over the directory's.
    """

    customer: Customer
    manager: Customer | None = None
    items: tuple[ConfigurationItem, ...] = attrs.field(default=(), converter=to_tuple)
    subscriptions: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    open_demands: tuple[DemandSummary, ...] = attrs.field(default=(), converter=to_tuple)
    recent_demands: tuple[DemandSummary, ...] = attrs.field(default=(), converter=to_tuple)
    channels: Mapping[str, int] = attrs.field(factory=dict)
    announcements: tuple[Announcement, ...] = attrs.field(default=(), converter=to_tuple)
    survey_answers: tuple[SurveyResponse, ...] = attrs.field(default=(), converter=to_tuple)
    trend: Trend = Trend.NONE
    reviews: tuple[Review, ...] = attrs.field(default=(), converter=to_tuple)
    preferences: Preferences | None = None
