"""The Eagle5 demo: the operations board's subscription is delivered to the receiver the demo starts."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from itsmcore.cli import cli


def test_the_demo_delivers_incidents_to_its_local_receiver() -> None:
    for module in ("itsm_email", "itsm_http", "itsm_apprise", "aiosmtpd"):
        pytest.importorskip(module, reason=f"{module} is not installed (the example's plugins.toml uses it)")
    r = CliRunner().invoke(cli, ["demo"])
    assert r.exit_code == 0, r.output
    assert "webhooks (webhooks.deliver, plugin webhooks) runs against a local stand-in" in r.output
    line = next(x for x in r.output.splitlines() if x.startswith("webhook receiver (http://127.0.0.1:"))
    got = re.search(r"got (\d+) deliveries, (\d+) signed", line)
    assert got is not None and int(got[1]) > 0 and got[1] == got[2], line
    assert "demand.received" in line and "demand.state_changed" in line and "announcement.published" in line
