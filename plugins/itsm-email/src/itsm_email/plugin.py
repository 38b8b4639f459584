"""Hook implementations of the email plugin. Imports nothing heavy at module level."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import itsmcore

if TYPE_CHECKING:
    import click
    from itsmcore import ChannelComponent

ITSM_CONTRACT = "1.0"


@itsmcore.hookimpl
def itsm_channels() -> Iterable[ChannelComponent]:
    from .channel import email_channel_component

    return [email_channel_component()]


@itsmcore.hookimpl
def itsm_register_commands(cli: click.Group) -> None:
    from .cli import email_group

    cli.add_command(email_group)
