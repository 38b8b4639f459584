"""The builtin plugin: components that need no extra dependency (the embedded default).

Component modules are imported inside the hooks, so loading this plugin costs nothing
until a deployment is opened.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..hookspecs import CONTRACT_VERSION
from ..plugins import hookimpl

if TYPE_CHECKING:
    from ..components import (
        ActionComponent,
        Answer,
        ChannelComponent,
        Classification,
        DirectoryComponent,
        Intake,
        RunnerComponent,
        SurveyComponent,
    )
    from ..desk import Desk
    from ..model import Assignment, Demand, DemandState, Prioritisation, Service

ITSM_CONTRACT = CONTRACT_VERSION


@hookimpl
def itsm_directories() -> Iterable[DirectoryComponent]:
    from .directory import file_directory_component

    return [file_directory_component()]


@hookimpl
def itsm_channels() -> Iterable[ChannelComponent]:
    from .channels import log_channel_component

    return [log_channel_component()]


@hookimpl
def itsm_survey_methods() -> Iterable[SurveyComponent]:
    from .surveys import survey_components

    return survey_components()


@hookimpl
def itsm_job_runners() -> Iterable[RunnerComponent]:
    from ..jobs import deferred_runner_component, inline_runner_component

    return [inline_runner_component(), deferred_runner_component()]


@hookimpl
def itsm_fulfilment_actions() -> Iterable[ActionComponent]:
    from .actions import action_components

    return action_components()


@hookimpl(trylast=True)
def itsm_classify(desk: Desk, intake: Intake) -> Classification | None:
    from .classifier import classify

    return classify(desk, intake)


@hookimpl(trylast=True)
def itsm_answer_query(desk: Desk, demand: Demand) -> Answer | None:
    from .answers import answer_query

    return answer_query(desk, demand)


@hookimpl
def itsm_demand_state_changed(desk: Desk, demand: Demand, previous: DemandState) -> None:
    from .feedback import after_confirmation

    after_confirmation(desk, demand, previous)


@hookimpl(trylast=True)
def itsm_prioritise(desk: Desk, intake: Intake, service: Service | None) -> Prioritisation | None:
    from .priorities import prioritise

    return prioritise(desk, intake, service)


@hookimpl(trylast=True)
def itsm_assign(desk: Desk, intake: Intake, service: Service | None, priority: int) -> Assignment | None:
    from .assignment import assign

    return assign(desk, intake, service, priority)
