"""The domain model: attrs classes only, no database, no plugins.

Everything here is importable without SQLAlchemy, so plugins and the CLI stay light.
"""

from .announcement import Announcement, AnnouncementState
from .customer import CIKind, ConfigurationItem, Customer
from .demand import (
    FINAL_STATES,
    LIFECYCLES,
    Demand,
    DemandKind,
    DemandState,
    IllegalTransition,
    Priority,
    check_transition,
)
from .journey import Actor, JourneyEvent, MomentOfTruth, Stage
from .service import Ask, AskType, Eligibility, ExperiencePackage, Link, PlanStep, Service
from .survey import KnowledgeArticle, SurveyResponse

__all__ = [
    "FINAL_STATES",
    "LIFECYCLES",
    "Actor",
    "Announcement",
    "AnnouncementState",
    "Ask",
    "AskType",
    "CIKind",
    "ConfigurationItem",
    "Customer",
    "Demand",
    "DemandKind",
    "DemandState",
    "Eligibility",
    "ExperiencePackage",
    "IllegalTransition",
    "JourneyEvent",
    "KnowledgeArticle",
    "Link",
    "MomentOfTruth",
    "PlanStep",
    "Priority",
    "Service",
    "Stage",
    "SurveyResponse",
    "check_transition",
]
