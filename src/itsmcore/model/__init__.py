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
from .review import A_COLLEAGUE, RATING_HIGH, RATING_LOW, Review, ReviewSummary
from .service import Ask, AskType, Eligibility, ExperiencePackage, HumanTask, Link, Milestone, PlanStep, Service
from .survey import KnowledgeArticle, SurveyResponse
from .task import ReachedMilestone, Task, TaskState

__all__ = [
    "A_COLLEAGUE",
    "FINAL_STATES",
    "LIFECYCLES",
    "RATING_HIGH",
    "RATING_LOW",
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
    "HumanTask",
    "IllegalTransition",
    "JourneyEvent",
    "KnowledgeArticle",
    "Link",
    "Milestone",
    "MomentOfTruth",
    "PlanStep",
    "Priority",
    "ReachedMilestone",
    "Review",
    "ReviewSummary",
    "Service",
    "Stage",
    "SurveyResponse",
    "Task",
    "TaskState",
    "check_transition",
]
