"""Structured logs: every line logged while a demand or job is handled names it, in text and in JSON."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from itsmcore import configure_logging, log_context

BROKEN_PLUGIN = """
from itsmcore import ActionComponent, hookimpl


class Action:
    def __init__(self, settings, context):
        pass

    def run(self, request):
        raise RuntimeError("the account API said no")


@hookimpl
def itsm_fulfilment_actions():
    return [ActionComponent(name="test.broken", factory=Action, description="always raises")]


@hookimpl
def itsm_demand_received(desk, demand):
    raise ValueError("the observer tripped")
"""

SERVICES = """
[[services]]
key = "wiki"
name = "Team wiki account"
description = "An account on the team wiki."
keywords = ["wiki"]
plan = [{ action = "test.broken" }]
"""


@pytest.fixture
def deployment(write_deployment: Callable[..., Path], tmp_path: Path) -> Path:
    """A deployment whose one service's plan raises, and whose demand observer raises; jobs run by ``itsm jobs run``."""
    (tmp_path / "broken_action.py").write_text(BROKEN_PLUGIN)
    return write_deployment('[runner]\nuse = "deferred"\n\n[plugins]\nmodules = ["broken_action"]\n', services=SERVICES)


def itsm(config: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ITSM_")}
    full_env |= {"PYTHONPATH": os.pathsep.join([str(config.parent), *sys.path]), **env}
    r = subprocess.run(
        [sys.executable, "-m", "itsmcore", "-c", str(config), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return r


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert lines, f"no JSON log line in:\n{text}"
    return lines


def submit(config: Path, *args: str, **env: str) -> tuple[int, subprocess.CompletedProcess[str]]:
    r = itsm(config, *args, "demand", "submit", "--customer", "steve", "--service", "wiki", "--format", "json", **env)
    return json.loads(r.stdout)["id"], r


def step_job(config: Path, demand_id: int) -> int:
    rows = json.loads(itsm(config, "jobs", "list", "--demand", str(demand_id), "--format", "json").stdout)
    return next(row["id"] for row in rows if row["action"] == "test.broken")


def test_a_job_that_raises_logs_a_json_line_with_its_demand_and_job(deployment: Path) -> None:
    demand_id, r = submit(deployment, "--log-format", "json")
    # the observer's failure is recorded against the demand, and its log line names it
    (observer,) = [x for x in json_lines(r.stderr) if "the observer tripped" in x["message"]]
    assert observer["level"] == "WARNING" and observer["demand_id"] == demand_id
    job_id = step_job(deployment, demand_id)

    r = itsm(deployment, "--log-format", "json", "jobs", "run")
    lines = json_lines(r.stderr)
    (raised,) = [x for x in lines if x["level"] == "ERROR" and "raised" in x["message"]]
    assert raised["demand_id"] == demand_id and raised["job_id"] == job_id and raised["action"] == "test.broken"
    assert "RuntimeError: the account API said no" in raised["exception"]
    assert raised["logger"] == "itsmcore.desk" and raised["pid"] > 0 and raised["at"].endswith("Z")
    assert set(raised) >= {"at", "level", "logger", "pid", "message", "demand_id", "job_id", "action"}


def test_text_lines_show_the_demand_and_the_level_and_format_come_from_the_environment(deployment: Path) -> None:
    demand_id, r = submit(deployment, ITSM_LOG_FORMAT="text")
    assert f"demand={demand_id} job=- " in r.stderr and "the observer tripped" in r.stderr
    job_id = step_job(deployment, demand_id)

    r = itsm(deployment, "jobs", "run", ITSM_LOG_LEVEL="info")
    raised = [line for line in r.stderr.splitlines() if "raised" in line]
    assert len(raised) == 1, r.stderr
    assert " ERROR itsmcore.desk [" in raised[0]
    assert f"demand={demand_id} job={job_id} action=test.broken job {job_id} (test.broken) raised" in raised[0]
    assert "RuntimeError: the account API said no" in r.stderr  # the traceback follows the line
    # the default level (WARNING) hides INFO lines; ITSM_LOG_LEVEL=error hides the observer's warning
    demand_id, r = submit(deployment, ITSM_LOG_LEVEL="error")
    assert "the observer tripped" not in r.stderr


class Captured:
    """Logging into a buffer, as ``configure_logging`` sets it up; ``use`` switches the format."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = configure_logging("DEBUG", "text", stream=self.stream)

    def use(self, fmt: str) -> None:
        self.handler = configure_logging("DEBUG", fmt, stream=self.stream)

    def lines(self) -> list[str]:
        out = self.stream.getvalue().splitlines()
        self.stream.seek(0)
        self.stream.truncate()
        return out


@pytest.fixture
def captured() -> Iterator[Captured]:
    root = logging.getLogger()
    level = root.level
    c = Captured()
    try:
        yield c
    finally:
        root.removeHandler(c.handler)
        root.setLevel(level)


def test_contexts_nest_override_and_end_with_their_block(captured: Captured) -> None:
    log = logging.getLogger("itsmcore.test")
    captured.use("json")
    with log_context(request_id="r-1"):
        with log_context(demand_id=7, job_id=70, action="notify"):
            log.info("inner")
            with log_context(demand_id=None):
                log.info("no demand here")
        log.info("outer")
    log.info("outside")
    inner, none, outer, outside = (json.loads(x) for x in captured.lines())
    assert inner | {"at": None, "pid": None} == {
        "at": None,
        "level": "INFO",
        "logger": "itsmcore.test",
        "pid": None,
        "message": "inner",
        "demand_id": 7,
        "job_id": 70,
        "action": "notify",
        "request_id": "r-1",
    }
    assert none["demand_id"] is None and none["job_id"] == 70 and none["request_id"] == "r-1"
    assert (outer["demand_id"], outer["job_id"], outer["request_id"]) == (None, None, "r-1")
    assert (outside["demand_id"], outside["job_id"], outside["action"]) == (None, None, None)
    assert "request_id" not in outside

    captured.use("text")
    with log_context(request_id="r-2"), log_context(demand_id=8):
        log.warning("text line")
        log.info("explicit", extra={"demand_id": 9})
    log.info("bare")
    text, explicit, bare = captured.lines()
    assert " WARNING itsmcore.test [" in text and text.endswith("] demand=8 job=- request_id=r-2 text line")
    assert "demand=9 job=-" in explicit, "a value passed as extra wins over the context"
    assert bare.endswith("] demand=- job=- bare")


def test_a_context_belongs_to_its_thread(captured: Captured) -> None:
    log = logging.getLogger("itsmcore.test")
    captured.use("json")
    with log_context(demand_id=1):
        thread = threading.Thread(target=log.info, args=("from another thread",))
        thread.start()
        thread.join()
        log.info("from this one")
    other, this = (json.loads(x) for x in captured.lines())
    assert other["demand_id"] is None and this["demand_id"] == 1


def test_a_field_that_would_overwrite_a_record_attribute_is_refused() -> None:
    with pytest.raises(ValueError, match="msg is a LogRecord attribute"):
        log_context(msg="x")
    with pytest.raises(ValueError, match="'text' or 'json'"):
        configure_logging("INFO", "yaml")
