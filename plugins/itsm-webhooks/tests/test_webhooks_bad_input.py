"""Bad input: URLs that may not be targets, unknown event types, a broken [webhooks] table; nothing is kept."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from itsmcore import Desk, InvalidInput
from itsmcore.cli import cli
from sqlalchemy import inspect

from itsm_webhooks.hub import Webhooks, for_desk
from itsm_webhooks.receiver import Receiver

STRICT = """
[runner]
use = "deferred"

[webhooks]
"""


def _itsm(config: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, ["-c", str(config), *args])
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://127.0.0.1/hooks", "not an http(s) URL"),
        ("file:///etc/passwd", "not an http(s) URL"),
        ("http://127.0.0.1:8000/api/hooks", "points at this deployment itself"),
        ("http://localhost:8000/hooks", "resolves to this deployment itself"),
    ],
)
def test_urls_that_are_not_http_or_point_back_in_are_refused(hub: Webhooks, url: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(says)):
        hub.add("bad", url, ["demand.received"])
    assert hub.subscriptions() == []


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:9/hooks", "127.0.0.1, a loopback address"),
        ("http://localhost:9/hooks", "localhost resolves to"),
        ("http://127.1:9/hooks", "a loopback address"),
        ("http://0x7f.0.0.1:9/hooks", "a loopback address"),
        ("http://[::ffff:127.0.0.1]:9/hooks", "a loopback address"),
        ("http://169.254.169.254/latest/meta-data", "a link-local address"),
        ("http://0.0.0.0:9/hooks", "an unspecified address"),
    ],
)
def test_loopback_and_link_local_targets_are_refused_unless_allowed(
    make_config: Callable[..., Path], url: str, says: str
) -> None:
    config = make_config(STRICT)
    code, out, err = _itsm(config, "webhook", "add", "sneaky", url, "--event", "demand.received")
    assert code != 0 and says.split(", a ")[-1].replace("an ", "") in err, err
    assert "allow_addresses" in err
    code, out, _ = _itsm(config, "webhook", "list")
    assert out.strip() == "(none)"


def test_a_refused_target_is_checked_again_at_delivery(
    make_config: Callable[..., Path], receiver: Receiver, drain: Callable[..., None]
) -> None:
    """A subscription added while allowed, then the allow-list taken away: the delivery is refused, not sent."""
    allowed = make_config()
    with Desk.open(allowed) as desk:
        for_desk(desk).add("then-allowed", receiver.url, ["demand.received"])
    strict = make_config(STRICT)
    with Desk.open(strict) as desk:
        desk.submit("failure", "steve", "The CRM is down", service="crm")
        drain(desk)
        (msg,) = for_desk(desk).deliveries("then-allowed")
        assert msg["state"] == "failed" and "refused" in str(msg["error"])
    assert receiver.received == []


def test_an_unknown_event_type_gets_a_did_you_mean(config: Path) -> None:
    code, _, err = _itsm(config, "webhook", "add", "ops", "http://127.0.0.1:9/h", "--event", "demand.recieved")
    assert code != 0
    assert "unknown event type 'demand.recieved'" in err and "did you mean 'demand.received'?" in err
    code, _, err = _itsm(config, "webhook", "add", "ops", "http://127.0.0.1:9/h", "--event", "x", "--service", "crn")
    assert "did you mean" not in err.split("unknown event type")[0]
    code, _, err = _itsm(config, "webhook", "add", "ops", "http://127.0.0.1:9/h", "--event", "*", "--service", "crn")
    assert code != 0 and "unknown service 'crn'; did you mean 'crm'?" in err


def test_a_broken_webhooks_table_names_file_key_and_close_match(make_config: Callable[..., Path]) -> None:
    config = make_config('[webhooks]\nmax_atempts = 3\ntimeout = "soon"\nallow_addresses = ["not-an-ip"]\n')
    code, _, err = _itsm(config, "webhook", "list")
    assert code == 2
    assert "itsm.toml: webhooks.max_atempts: unknown setting; did you mean 'max_attempts'?" in err
    assert "itsm.toml: webhooks.timeout: expected a number" in err
    assert "webhooks.allow_addresses[0]: expected an address or network" in err


def test_a_declared_subscription_naming_an_unknown_event_is_a_config_error(make_config: Callable[..., Path]) -> None:
    config = make_config('[webhooks.subscriptions.ops]\nurl = "https://hooks.example/x"\nevents = ["survey.answerd"]\n')
    code, _, err = _itsm(config, "webhook", "list")
    assert code == 2 and "webhooks.subscriptions.ops.events[0]: unknown event type" in err
    assert "did you mean 'survey.answered'?" in err


def test_a_deployment_without_a_webhooks_table_is_left_alone(make_config: Callable[..., Path]) -> None:
    config = make_config('[runner]\nuse = "deferred"\n')
    with Desk.open(config) as desk:
        desk.submit("failure", "steve", "The CRM is down", service="crm")
        assert not any(n.startswith("webhook_") for n in inspect(desk.engine).get_table_names())
        assert all(j.action != "webhooks.deliver" for j in desk.jobs())
    code, _, err = _itsm(config, "webhook", "list")
    assert code == 2 and "has no [webhooks] table" in err


def test_declared_subscriptions_are_kept_in_step_with_the_config(
    make_config: Callable[..., Path], receiver: Receiver, drain: Callable[..., None]
) -> None:
    table = f'[webhooks.subscriptions.ops]\nurl = "{receiver.url}"\nevents = ["demand.received"]\n'
    config = make_config(extra=table)
    with Desk.open(config) as desk:
        (sub,) = for_desk(desk).subscriptions()
        assert (sub.name, sub.source, sub.events) == ("ops", "config", ("demand.received",))
        desk.submit("failure", "steve", "The CRM is down", service="crm")
        drain(desk)
        assert len(receiver.received) == 1
    config = make_config()
    with Desk.open(config) as desk:
        (sub,) = for_desk(desk).subscriptions()
        assert not sub.enabled and sub.disabled_reason == "no longer in the config"
