"""Hook implementations: the ``portal`` channel (``itsm serve`` and ``itsm portal-token`` are ``itsm.commands`` entry points).

Nothing heavy is imported here: Starlette, Jinja2 and uvicorn load only when a command runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from itsmcore import ChannelComponent, hookimpl

#: The hook contract this plugin was written against, stated rather than read from the core:
#: itsmcore refuses the plugin if it cannot honour it (pyproject's itsmcore range follows it).
ITSM_CONTRACT = "1.0"


def _factory(settings: object, context: object) -> object:
    from .channel import PortalChannel

    return PortalChannel(settings, context)  # type: ignore[arg-type]


@hookimpl
def itsm_channels() -> Iterable[ChannelComponent]:
    from .settings import PortalSettings

    return [
        ChannelComponent(
            name="portal",
            factory=_factory,
            settings=PortalSettings,
            description="Self-service portal, service desk pages and JSON API (messages land in the portal inbox).",
        )
    ]
