"""A plugin's own kind of job (``itsm_job_handlers``): queued through the outbox, run, retried, dead, retried by hand."""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner

from itsmcore import (
    ActionResult,
    Desk,
    Job,
    JobHandlerComponent,
    NotFound,
    PermanentFailure,
    TemporaryFailure,
    hookimpl,
)
from itsmcore.cli import cli
from itsmcore.deployment import Deployment
from itsmcore.store.engine import open_engine, resolve_url

DEFERRED = '[runner]\nuse = "deferred"\n'


class Mirror:
    """A handler whose outcome each test scripts: it records each call, then fails or succeeds as told."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, dict[str, Any]]] = []
        self.fail: list[BaseException] = []

    def run(self, job: Job, desk: Desk) -> ActionResult | None:
        self.calls.append((job.id, job.attempts, dict(job.params)))
        if self.fail:
            raise self.fail.pop(0)
        return ActionResult(behind_scenes=f"pushed {job.params['n']}", outputs={"n": job.params["n"]})


@pytest.fixture
def mirror() -> Mirror:
    return Mirror()


@pytest.fixture
def plugin(mirror: Mirror) -> object:
    mod = types.ModuleType("mirror_plugin")
    mod.ITSM_CONTRACT = "1.2"  # type: ignore[attr-defined]

    @hookimpl
    def itsm_job_handlers() -> list[JobHandlerComponent]:
        return [JobHandlerComponent(name="mirror.push", factory=lambda _s, _c: mirror, max_attempts=3)]

    mod.itsm_job_handlers = itsm_job_handlers  # type: ignore[attr-defined]
    return mod


@pytest.fixture
def config(write_deployment: Callable[..., Path]) -> Path:
    return write_deployment(DEFERRED)


@pytest.fixture
def desk(config: Path, plugin: object) -> Iterator[Desk]:
    with Desk.open(config, entry_points=False, plugins=[plugin]) as d:
        yield d


def _later(desk: Desk, seconds: float) -> None:
    """Move the desk's clock on (a retry's backoff passes without waiting for it)."""
    base = desk.clock
    desk.clock = lambda: base() + timedelta(seconds=seconds)


def test_a_plugin_job_is_queued_once_per_key_and_run_by_its_handler(desk: Desk, mirror: Mirror) -> None:
    jid = desk.queue_job("mirror.push", "one", {"n": 1})
    assert jid > 0
    assert desk.queue_job("mirror.push", "one", {"n": 1}) == 0, "the same key is queued once"
    job = desk.job(jid)
    assert job.state == "pending" and job.max_attempts == 3 and job.demand_id is None
    assert desk.run_due_jobs() == 1
    assert mirror.calls == [(jid, 1, {"n": 1})]
    done = desk.job(jid)
    assert done.state == "done" and done.result is not None and done.result["outputs"] == {"n": 1}


def test_a_job_queued_in_the_callers_transaction_is_kept_only_if_it_commits(desk: Desk) -> None:
    with pytest.raises(RuntimeError), desk.engine.begin() as conn:
        desk.queue_job("mirror.push", "rolled-back", {"n": 2}, conn=conn)
        raise RuntimeError("the caller's own write failed")
    assert desk.jobs() == [], "rolled back with the caller's rows"
    with desk.engine.begin() as conn:
        jid = desk.queue_job("mirror.push", "kept", {"n": 3}, conn=conn)
    desk.wake_jobs([jid])
    assert [j.id for j in desk.jobs(state="pending")] == [jid]


def test_a_raising_handler_is_retried_with_backoff_then_succeeds(desk: Desk, mirror: Mirror) -> None:
    mirror.fail = [RuntimeError("mirror is restarting"), TemporaryFailure("busy", retry_after=30)]
    jid = desk.queue_job("mirror.push", "k", {"n": 4})
    desk.run_due_jobs()
    failed = desk.job(jid)
    assert failed.state == "pending" and "RuntimeError: mirror is restarting" in (failed.error or "")
    assert failed.run_after > desk.clock(), "backoff: not due again at once"
    assert desk.run_due_jobs() == 0
    _later(desk, 10)
    desk.run_due_jobs()
    busy = desk.job(jid)
    assert busy.state == "pending" and busy.error == "busy"
    assert busy.run_after >= desk.clock() + timedelta(seconds=29), "the handler's retry_after is kept"
    _later(desk, 60)
    desk.run_due_jobs()
    assert desk.job(jid).state == "done"
    assert [attempt for _, attempt, _ in mirror.calls] == [1, 2, 3], "the same job each time, attempts counted"


def test_a_handler_that_keeps_failing_is_dead_after_max_attempts_and_nothing_is_lost(
    desk: Desk, mirror: Mirror, config: Path
) -> None:
    mirror.fail = [RuntimeError(f"down #{i}") for i in range(3)]
    jid = desk.queue_job("mirror.push", "k", {"n": 5})
    for step in range(3):
        _later(desk, 1000 * (step + 1))
        desk.run_due_jobs()
    dead = desk.job(jid)
    assert dead.state == "dead" and dead.attempts == 3 and "down #2" in (dead.error or "")
    assert dead.params == {"n": 5}, "its work is kept for a retry"

    runner = CliRunner()
    listed = runner.invoke(cli, ["-c", str(config), "jobs", "list", "--state", "dead", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [(j["id"], j["action"]) for j in json.loads(listed.output)] == [(jid, "mirror.push")]

    desk.close()
    retried = runner.invoke(cli, ["-c", str(config), "jobs", "retry", str(jid)])
    assert retried.exit_code == 0, retried.output
    assert "pending" in retried.output


def test_a_permanent_failure_is_dead_at_once(desk: Desk, mirror: Mirror) -> None:
    mirror.fail = [PermanentFailure("the mirror refused it")]
    jid = desk.queue_job("mirror.push", "k", {"n": 6})
    desk.run_due_jobs()
    assert desk.job(jid).state == "dead" and desk.job(jid).error == "the mirror refused it"


def test_a_dead_job_retried_runs_again(desk: Desk, mirror: Mirror) -> None:
    mirror.fail = [PermanentFailure("not yet")]
    jid = desk.queue_job("mirror.push", "k", {"n": 7})
    desk.run_due_jobs()
    desk.retry_job(jid)
    desk.run_due_jobs()
    assert desk.job(jid).state == "done" and len(mirror.calls) == 2


def test_queueing_a_kind_no_plugin_handles_names_the_known_ones(desk: Desk) -> None:
    with pytest.raises(NotFound, match=r"'mirror\.pusj'.*known: mirror\.push"):
        desk.queue_job("mirror.pusj", "k")
    assert desk.jobs() == []


def test_the_job_finished_hook_hears_of_plugin_jobs(config: Path, plugin: object, mirror: Mirror) -> None:
    ended: list[tuple[str, str]] = []
    watcher = types.ModuleType("watcher")

    @hookimpl
    def itsm_job_finished(job: Job) -> None:
        ended.append((job.action, str(job.state)))

    watcher.itsm_job_finished = itsm_job_finished  # type: ignore[attr-defined]
    with Desk.open(config, entry_points=False, plugins=[plugin, watcher]) as desk:
        mirror.fail = [PermanentFailure("no")]
        desk.queue_job("mirror.push", "a", {"n": 8})
        desk.queue_job("mirror.push", "b", {"n": 9})
        desk.run_due_jobs()
    assert sorted(ended) == [("mirror.push", "dead"), ("mirror.push", "done")]


class _Standin:
    """A stand-in that only records that it ran."""

    started: list[str] = []

    def __enter__(self) -> dict[str, str]:
        self.started.append("up")
        return {"target": "http://127.0.0.1:9/standin"}

    def __exit__(self, *exc: object) -> None:
        self.started.append("down")

    def summary(self) -> str:
        return "mirror stand-in got nothing"


@attrs.frozen
class _Target:
    target: str = "https://mirror.example"


@pytest.mark.parametrize("configured", [True, False])
def test_a_plugin_jobs_sandbox_starts_only_with_its_config_table(
    write_deployment: Callable[..., Path], configured: bool
) -> None:
    built: list[str] = []
    mod = types.ModuleType("mirror_sandboxed")

    def factory(settings: _Target, _ctx: object) -> Mirror:
        built.append(settings.target)
        return Mirror()

    @hookimpl
    def itsm_job_handlers() -> list[JobHandlerComponent]:
        return [
            JobHandlerComponent(
                name="mirror.push",
                factory=factory,
                settings=_Target,
                config_table="webhooks",
                sandbox=lambda _s, _c: _Standin(),
            )
        ]

    mod.itsm_job_handlers = itsm_job_handlers  # type: ignore[attr-defined]
    config = write_deployment(DEFERRED + ("[webhooks]\n" if configured else ""))
    _Standin.started = []
    deployment = Deployment.load(config, plugins=[mod], entry_points=False)
    with deployment.sandboxed() as boxes:
        engine = open_engine(resolve_url(deployment.config.deployment.database, deployment.config.base_dir))
        with Desk(deployment, engine) as desk:
            desk.queue_job("mirror.push", "k", {"n": 1})
            desk.run_due_jobs()
        assert [b.summary() for b in boxes] == (["mirror stand-in got nothing"] if configured else [])
    assert built == ["http://127.0.0.1:9/standin" if configured else "https://mirror.example"]
    assert _Standin.started == (["up", "down"] if configured else [])
