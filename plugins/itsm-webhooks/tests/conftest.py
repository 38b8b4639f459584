"""A real receiver on 127.0.0.1 and deployments whose webhooks may reach it.

The receiver (:class:`itsm_webhooks.receiver.Receiver`) is a stdlib HTTP server in a
thread that answers from a script: fail, time out, 410 Gone, redirect, a 10 MB answer,
or stop and start again on its port. The test config lists 127.0.0.1 in
``[webhooks] allow_addresses`` explicitly (loopback is refused otherwise) and makes
retries quick; runs use the deferred runner, so each test runs the outbox itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from itsmcore import Desk

from itsm_webhooks.hub import Webhooks, for_desk
from itsm_webhooks.receiver import Receiver

pytest_plugins = ["itsmcore.testing"]

WEBHOOKS = """
[runner]
use = "deferred"

[webhooks]
allow_addresses = ["127.0.0.1/32"]
retry_base = 0.05
retry_cap = 0.2
timeout = 1.0
max_attempts = 3
response_limit = 4096
"""

SERVICES = """
[[services]]
key = "crm"
name = "CRM"
description = "Customer records."
keywords = ["crm"]
kind = "failure"

[[services]]
key = "laptop"
name = "Laptop"
description = "A new laptop."
keywords = ["laptop"]
kind = "value"
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(slow_seconds=3.0).start()
    yield r
    r.stop()


@pytest.fixture
def make_config(itsm_deployment_factory: Callable[..., Path]) -> Callable[..., Path]:
    def make(webhooks: str = WEBHOOKS, extra: str = "") -> Path:
        return itsm_deployment_factory(webhooks + extra + SERVICES)

    return make


@pytest.fixture
def config(make_config: Callable[..., Path]) -> Path:
    return make_config()


@pytest.fixture
def desk(config: Path) -> Iterator[Desk]:
    with Desk.open(config) as d:
        yield d


@pytest.fixture
def hub(desk: Desk) -> Webhooks:
    return for_desk(desk)


@pytest.fixture
def drain() -> Callable[..., None]:
    return _drain


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    return _wait_for


def _drain(desk: Desk, *, until: Callable[[], bool] | None = None, deadline: float = 60.0) -> None:
    """Run due jobs until no webhook delivery is pending or running (and ``until()`` holds)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        desk.run_due_jobs()
        busy = [
            j for j in desk.jobs(limit=10_000) if j.action == "webhooks.deliver" and j.state in ("pending", "running")
        ]
        if not busy and (until is None or until()):
            return
        time.sleep(0.05)
    raise AssertionError("webhook deliveries still outstanding after the deadline")


def _wait_for(cond: Callable[[], Any], deadline: float = 30.0) -> Any:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met before the deadline")
