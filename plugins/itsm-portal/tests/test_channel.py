"""The portal channel passes the conformance kit; the plugin loads harmlessly; `itsm serve` is registered."""

from __future__ import annotations

from pathlib import Path

import pytest
from itsmcore import Channel, ChannelComponent
from itsmcore.testing import ChannelContract, check_component_record, context_for


class TestPortalChannel(ChannelContract):
    @pytest.fixture
    def channel(self, tmp_path: Path) -> Channel:
        from itsm_portal.channel import PortalChannel
        from itsm_portal.settings import PortalSettings

        return PortalChannel(PortalSettings(), context_for(tmp_path, "portal"))

    @pytest.fixture
    def channel_record(self) -> ChannelComponent:
        from itsm_portal import plugin

        return next(iter(plugin.itsm_channels()))


def test_record_is_documented() -> None:
    from itsm_portal import plugin

    assert plugin.ITSM_CONTRACT
    for record in plugin.itsm_channels():
        check_component_record(record)


def test_serve_command_is_registered() -> None:
    from click.testing import CliRunner
    from itsmcore.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--help"], standalone_mode=False)  # type: ignore[arg-type]
    assert result.exit_code == 0 and "--port" in result.output and "--host" in result.output


def test_portal_channel_delivers_to_the_inbox(itsm_deployment_factory) -> None:  # type: ignore[no-untyped-def]
    from itsmcore import Desk

    config = itsm_deployment_factory('[channels.portal]\nuse = "portal"\n')
    with Desk.open(config) as desk:
        desk.notify("steve", "Hello", "Your phone is ready.", channel="portal")
        msgs = desk.messages(customer="steve")
        assert msgs and msgs[0]["channel"] == "portal" and msgs[0]["address"] == "steve"


def test_top_level_portal_table_and_bad_keys(itsm_deployment_factory) -> None:  # type: ignore[no-untyped-def]
    from itsmcore import Desk

    from itsm_portal.app import portal_settings

    config = itsm_deployment_factory('[portal]\nagent_groups = ["managers"]\n')
    with Desk.open(config) as desk:
        assert portal_settings(desk).agent_groups == ("managers",)
