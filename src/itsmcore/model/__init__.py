"""The domain model: attrs classes only, no database, no plugins.

Everything here is importable without SQLAlchemy, so plugins and the CLI stay light; each
name loads its module on first use (PEP 562), so importing one class does not load all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .announcement import Announcement, AnnouncementState
    from .assignment import Assignment
    from .change import CHANGE_TRANSITIONS, ChangeDecision, ChangeRisk, ChangeState, PlannedChange
    from .customer import CIKind, ConfigurationItem, Customer, CustomerMatch
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
    from .journey import Actor, Identity, JourneyEvent, MomentOfTruth, Stage
    from .knowledge import Article, ArticleState, ArticleVersion, EditConflict
    from .preferences import PreferenceChange, Preferences, QuietHours
    from .problem import PROBLEM_MOVES, Problem, ProblemIncident, ProblemState
    from .profile import CustomerProfile, DemandSummary, Trend
    from .relationship import Impact, ImpactedItem, Relationship, RelationshipType
    from .review import A_COLLEAGUE, RATING_HIGH, RATING_LOW, Review, ReviewSummary
    from .service import Ask, AskType, Eligibility, ExperiencePackage, HumanTask, Link, Milestone, PlanStep, Service
    from .service_level import Prioritisation, ServiceClock, ServiceTarget
    from .survey import KnowledgeArticle, SurveyResponse
    from .task import ReachedMilestone, Task, TaskState

#: Each name and the module (under ``itsmcore.model``) that defines it.
_WHERE: dict[str, str] = {
    "A_COLLEAGUE": "review",
    "PROBLEM_MOVES": "problem",
    "Problem": "problem",
    "ProblemIncident": "problem",
    "ProblemState": "problem",
    "Actor": "journey",
    "Announcement": "announcement",
    "CHANGE_TRANSITIONS": "change",
    "ChangeDecision": "change",
    "ChangeRisk": "change",
    "ChangeState": "change",
    "PlannedChange": "change",
    "Impact": "relationship",
    "ImpactedItem": "relationship",
    "Relationship": "relationship",
    "RelationshipType": "relationship",
    "Assignment": "assignment",
    "Article": "knowledge",
    "ArticleState": "knowledge",
    "ArticleVersion": "knowledge",
    "AnnouncementState": "announcement",
    "Ask": "service",
    "AskType": "service",
    "CIKind": "customer",
    "ConfigurationItem": "customer",
    "Customer": "customer",
    "CustomerProfile": "profile",
    "CustomerMatch": "customer",
    "Demand": "demand",
    "DemandKind": "demand",
    "DemandSummary": "profile",
    "DemandState": "demand",
    "EditConflict": "knowledge",
    "Eligibility": "service",
    "ExperiencePackage": "service",
    "FINAL_STATES": "demand",
    "HumanTask": "service",
    "IllegalTransition": "demand",
    "Identity": "journey",
    "JourneyEvent": "journey",
    "KnowledgeArticle": "survey",
    "LIFECYCLES": "demand",
    "Link": "service",
    "Milestone": "service",
    "MomentOfTruth": "journey",
    "PlanStep": "service",
    "PreferenceChange": "preferences",
    "Preferences": "preferences",
    "Prioritisation": "service_level",
    "Priority": "demand",
    "QuietHours": "preferences",
    "RATING_HIGH": "review",
    "RATING_LOW": "review",
    "ReachedMilestone": "task",
    "Review": "review",
    "ReviewSummary": "review",
    "Service": "service",
    "ServiceClock": "service_level",
    "ServiceTarget": "service_level",
    "Stage": "journey",
    "SurveyResponse": "survey",
    "Task": "task",
    "TaskState": "task",
    "Trend": "profile",
    "check_transition": "demand",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'itsmcore.model' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{where}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


__all__ = [
    "A_COLLEAGUE",
    "CHANGE_TRANSITIONS",
    "FINAL_STATES",
    "LIFECYCLES",
    "PROBLEM_MOVES",
    "RATING_HIGH",
    "RATING_LOW",
    "Actor",
    "Announcement",
    "AnnouncementState",
    "Article",
    "ArticleState",
    "ArticleVersion",
    "Ask",
    "AskType",
    "Assignment",
    "CIKind",
    "ChangeDecision",
    "ChangeRisk",
    "ChangeState",
    "ConfigurationItem",
    "Customer",
    "CustomerMatch",
    "CustomerProfile",
    "Demand",
    "DemandKind",
    "DemandState",
    "DemandSummary",
    "EditConflict",
    "Eligibility",
    "ExperiencePackage",
    "HumanTask",
    "Identity",
    "IllegalTransition",
    "Impact",
    "ImpactedItem",
    "JourneyEvent",
    "KnowledgeArticle",
    "Link",
    "Milestone",
    "MomentOfTruth",
    "PlanStep",
    "PlannedChange",
    "PreferenceChange",
    "Preferences",
    "Prioritisation",
    "Priority",
    "Problem",
    "ProblemIncident",
    "ProblemState",
    "QuietHours",
    "ReachedMilestone",
    "Relationship",
    "RelationshipType",
    "Review",
    "ReviewSummary",
    "Service",
    "ServiceClock",
    "ServiceTarget",
    "Stage",
    "SurveyResponse",
    "Task",
    "TaskState",
    "Trend",
    "check_transition",
]
