"""Hook implementations of itsm-apprise: registers the ``apprise`` channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from itsmcore import hookimpl

if TYPE_CHECKING:
    from itsmcore import ChannelComponent

ITSM_CONTRACT = "1.0"


@hookimpl
def itsm_channels() -> list[ChannelComponent]:
    from .channel import apprise_channel_component

    return [apprise_channel_component()]
