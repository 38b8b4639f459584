"""itsmcore: a small, pluggable core for IT service management around the customer's experience.

The public API for plugins and integrators is what this module exports, plus
:mod:`itsmcore.hookspecs`. Importing it is cheap: the database layer loads only when a
desk is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .components import (
    ActionComponent,
    ActionRequest,
    ActionResult,
    AlreadyDone,
    Answer,
    Channel,
    ChannelComponent,
    Classification,
    Component,
    ComponentContext,
    Delivery,
    DirectoryBackend,
    DirectoryComponent,
    EligibilityDecision,
    FulfilmentAction,
    Intake,
    JobRunner,
    Message,
    NeedsCustomer,
    NoSettings,
    RunnerComponent,
    StepOutcome,
    SurveyComponent,
    SurveyMethod,
    SurveyScore,
)
from .errors import (
    ConfigError,
    ConfigProblem,
    Conflict,
    Forbidden,
    IllegalTransition,
    IneligibleCustomer,
    InvalidAnswers,
    InvalidInput,
    ItsmError,
    NotFound,
    PermanentFailure,
    PluginError,
    StoreUnavailable,
    TemporaryFailure,
    TooManyAttempts,
    UnknownCustomer,
    UnknownService,
)
from .hookspecs import CONTRACT_VERSION
from .model import *  # noqa: F403
from .model import __all__ as _model_all
from .plugins import hookimpl
from .status import CustomerStatus, acknowledgement, customer_status, stage_label

if TYPE_CHECKING:
    from .cli import open_desk
    from .desk import DemandView, Desk, Receipt
    from .jobs import Job
    from .logs import configure_logging, log_context

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The desk pulls in SQLAlchemy (~200 ms); load it only when asked for.
    if name in ("Desk", "Receipt", "DemandView", "CatalogEntry"):
        from . import desk

        return getattr(desk, name)
    if name == "open_desk":
        from .cli import open_desk

        return open_desk
    if name in ("log_context", "configure_logging"):
        from . import logs

        return getattr(logs, name)
    if name == "Job":
        from .jobs import Job

        return Job
    raise AttributeError(f"module 'itsmcore' has no attribute {name!r}")


__all__ = [
    "CONTRACT_VERSION",
    "ActionComponent",
    "ActionRequest",
    "ActionResult",
    "AlreadyDone",
    "Answer",
    "Channel",
    "ChannelComponent",
    "Classification",
    "Component",
    "ComponentContext",
    "ConfigError",
    "ConfigProblem",
    "Conflict",
    "CustomerStatus",
    "Delivery",
    "DemandView",
    "Desk",
    "DirectoryBackend",
    "DirectoryComponent",
    "EligibilityDecision",
    "Forbidden",
    "FulfilmentAction",
    "IllegalTransition",
    "IneligibleCustomer",
    "Intake",
    "InvalidAnswers",
    "InvalidInput",
    "ItsmError",
    "Job",
    "JobRunner",
    "Message",
    "NeedsCustomer",
    "NoSettings",
    "NotFound",
    "PermanentFailure",
    "PluginError",
    "Receipt",
    "RunnerComponent",
    "StepOutcome",
    "StoreUnavailable",
    "SurveyComponent",
    "SurveyMethod",
    "SurveyScore",
    "TemporaryFailure",
    "TooManyAttempts",
    "UnknownCustomer",
    "UnknownService",
    "__version__",
    "acknowledgement",
    "configure_logging",
    "customer_status",
    "hookimpl",
    "log_context",
    "open_desk",
    "stage_label",
    *_model_all,
]
