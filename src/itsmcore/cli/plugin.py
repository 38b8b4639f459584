"""``itsm plugin ...``: tools for plugin authors (the scaffold lives in :mod:`itsmcore.newplugin`)."""

from __future__ import annotations

import click

from ..newplugin import plugin_new


@click.group()
def plugin() -> None:
    """Tools for plugin authors: scaffold a new plugin distribution."""


plugin.add_command(plugin_new)  # itsm plugin new NAME --kind channel|directory|action|survey
