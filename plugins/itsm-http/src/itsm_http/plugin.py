"""Hook implementations of itsm-http: registers the ``http`` fulfilment action."""

from __future__ import annotations

from typing import TYPE_CHECKING

from itsmcore import hookimpl

if TYPE_CHECKING:
    from itsmcore import ActionComponent

ITSM_CONTRACT = "1.0"


@hookimpl
def itsm_fulfilment_actions() -> list[ActionComponent]:
    from .action import http_action_component

    return [http_action_component()]
