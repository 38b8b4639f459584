"""Survey responses and knowledge articles."""

from __future__ import annotations

from datetime import datetime

import attrs

from ._convert import to_tuple


@attrs.frozen(kw_only=True)
class SurveyResponse:
    """One answer to a survey method (NPS, CSAT, CES or a vendor's own).

    ``mode`` is ``"transactional"`` (after an outcome, tied to a demand) or
    ``"tracker"`` (over time, not tied to one demand).
    """

    id: int | None = None
    method: str
    customer_id: str
    score: int
    comment: str = ""
    demand_id: int | None = None
    service_key: str | None = None
    channel: str = ""
    mode: str = "transactional"
    at: datetime


@attrs.frozen(kw_only=True)
class KnowledgeArticle:
    """A plain-language answer the desk can offer before a person is needed."""

    key: str
    title: str
    body: str
    keywords: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    service_key: str | None = None
