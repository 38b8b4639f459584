"""Hook implementations of itsm-sms-chat: registers the ``twilio-sms`` and ``slack-chat`` channels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from itsmcore import hookimpl

if TYPE_CHECKING:
    from itsmcore import ChannelComponent

ITSM_CONTRACT = "1.0"


@hookimpl
def itsm_channels() -> list[ChannelComponent]:
    from .chat import chat_channel_component
    from .sms import sms_channel_component

    return [sms_channel_component(), chat_channel_component()]
