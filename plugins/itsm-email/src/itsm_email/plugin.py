"""Hook implementations of the email plugin. Imports nothing heavy at module level."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import itsmcore

if TYPE_CHECKING:
    from itsmcore import ChannelComponent

ITSM_CONTRACT = "1.0"


@itsmcore.hookimpl
def itsm_channels() -> Iterable[ChannelComponent]:
    from .channel import email_channel_component

    return [email_channel_component()]
