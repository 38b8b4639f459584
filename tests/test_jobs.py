"""Claiming jobs in batches on SQLite and PostgreSQL, several processes at once, and the runner contract."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from itsmcore import Desk, RunnerComponent
from itsmcore.jobs import LEASE, JobState, deferred_runner_component, inline_runner_component
from itsmcore.testing import JobRunnerContract, recorder

DEFERRED = '[runner]\nuse = "deferred"\n'


@pytest.fixture
def desk(itsm_deployment_factory: Callable[..., Path], database_url: str) -> Iterator[Desk]:
    config = itsm_deployment_factory(JobRunnerContract.config(DEFERRED), database=database_url)
    with Desk.open(config, entry_points=False) as d:
        recorder.create_table(d.engine)
        yield d


def _submit(desk: Desk, n: int, service: str = "contract-record") -> list[int]:
    return [desk.submit("value", "steve", f"record #{i}", service=service).demand.id for i in range(n)]


def test_claim_due_claims_each_due_job_once_oldest_first(desk: Desk) -> None:
    _submit(desk, 5)
    pending = sorted(desk.jobs(state="pending"), key=lambda j: (j.run_after, j.id))
    now = desk.clock()
    first = desk.claim_due(limit=3, now=now)
    assert [j.id for j in first] == [j.id for j in pending[:3]], "the oldest due jobs, in order"
    assert all(j.state == JobState.RUNNING and j.attempts == 1 and j.lease_until == now + LEASE for j in first)
    rest = desk.claim_due(limit=100, now=now)
    assert [j.id for j in rest] == [j.id for j in pending[3:]]
    assert desk.claim_due(now=now) == [], "a job under a live lease is nobody else's"
    assert {j.id for j in desk.jobs(state="running")} == {j.id for j in pending}
    assert desk.claim_due(limit=0, now=now) == []


def test_claim_due_waits_for_run_after(desk: Desk) -> None:
    _submit(desk, 2)
    pending = desk.jobs(state="pending")
    latest = max(j.run_after for j in pending)
    assert desk.claim_due(now=min(j.run_after for j in pending) - timedelta(seconds=1)) == []
    assert {j.id for j in desk.claim_due(now=latest)} == {j.id for j in pending}, "due once run_after has come"


def test_claim_due_takes_over_expired_leases_and_buries_last_attempts(desk: Desk) -> None:
    _submit(desk, 1)
    now = desk.clock()
    ids = {j.id for j in desk.claim_due(now=now)}
    (max_attempts,) = {j.max_attempts for j in desk.jobs()}
    for attempt in range(2, max_attempts + 1):
        now += LEASE + timedelta(seconds=1)  # the runner holding them died
        again = desk.claim_due(now=now)
        assert {j.id for j in again} == ids and {j.attempts for j in again} == {attempt}, "taken over, same job"
    now += LEASE + timedelta(seconds=1)
    assert desk.claim_due(now=now) == [], "no attempt left: not taken over again"
    dead = desk.jobs(state="dead")
    assert {j.id for j in dead} == ids
    assert all("lease expired" in (j.error or "") and j.finished_at == now for j in dead)


def test_claim_job_by_id_returns_the_claimed_job_and_running_it_reads_nothing_again(desk: Desk) -> None:
    (demand_id,) = _submit(desk, 1)
    step = next(j for j in desk.jobs(demand_id=demand_id) if j.action == recorder.ACTION)
    job = desk.claim_job(step.id)
    assert job is not None and job.state == JobState.RUNNING and job.attempts == 1
    assert desk.claim_job(step.id) is None, "one claimer wins"
    assert desk.claim_job(10**9) is None, "an unknown id is simply not claimed"
    done = desk.execute_job(job)
    assert done.state == JobState.DONE
    assert recorder.executions(desk.engine) == {job.key: 1}
    assert desk.claim_job(step.id) is None and desk.job(step.id).state == JobState.DONE


def test_run_due_jobs_runs_a_batch_and_the_jobs_it_creates(desk: Desk) -> None:
    demand_ids = _submit(desk, 3)
    assert desk.run_due_jobs(limit=2, batch=1) == 2
    assert desk.run_due_jobs(batch=2) > 0
    assert set(desk.job_stats()) == {"done"}, "jobs created by jobs ran too"
    assert {str(desk.get(d).state) for d in demand_ids} == {"fulfilled"}
    assert sorted(recorder.executions(desk.engine).values()) == [1, 1, 1]


# ---------------------------------------------------------------- several processes at once (PostgreSQL)


def _claim_loop(config: str, start: multiprocessing.synchronize.Event, out: multiprocessing.Queue[int]) -> None:
    """A plain worker: claim a batch, execute it, until no job is left pending or running."""
    ran = 0
    with Desk.open(config, entry_points=False) as desk:
        start.wait(60)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            claimed = desk.claim_due(limit=10)
            for job in claimed:
                desk.execute_job(job.id)
                ran += 1
            if not claimed:
                stats = desk.job_stats()
                if not stats.get("pending") and not stats.get("running"):
                    break
                time.sleep(0.05)
    out.put(ran)


def test_four_processes_claiming_batches_run_every_job_once(
    itsm_deployment_factory: Callable[..., Path], postgres_url: str
) -> None:
    config = itsm_deployment_factory(JobRunnerContract.config(DEFERRED), database=postgres_url)
    with Desk.open(config, entry_points=False) as desk:
        recorder.create_table(desk.engine)
        demand_ids = _submit(desk, 400)
        ctx = multiprocessing.get_context("spawn")
        start, out = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_claim_loop, args=(str(config), start, out)) for _ in range(4)]
        for p in procs:
            p.start()
        start.set()
        ran = [out.get(timeout=180) for _ in procs]
        for p in procs:
            p.join(30)
            assert p.exitcode == 0
        jobs = [j for d in demand_ids for j in desk.jobs(demand_id=d)]
        assert {str(j.state) for j in jobs} == {"done"}, desk.job_stats()
        assert sum(ran) == len(jobs), "each job executed by exactly one process"
        assert sum(1 for n in ran if n) >= 2, f"the work was shared: {ran}"
        keys = {j.key for j in jobs if j.action == recorder.ACTION}
        runs = recorder.executions(desk.engine)
        assert len(keys) == 400 and set(runs) == keys and set(runs.values()) == {1}, "every step ran once, none lost"
        with desk.engine.connect() as conn:
            twice = conn.execute(text("SELECT job_id FROM messages GROUP BY job_id HAVING count(*) > 1")).all()
        assert twice == [], "no notification sent twice"


# ---------------------------------------------------------------- itsm jobs run --watch


def test_jobs_run_watch_runs_jobs_until_interrupted(
    itsm_deployment_factory: Callable[..., Path], database_url: str
) -> None:
    config = itsm_deployment_factory(JobRunnerContract.config(DEFERRED), database=database_url)
    cmd = [sys.executable, "-m", "itsmcore", "-c", str(config), "jobs", "run", "--watch", "0.2", "--batch", "5"]
    with Desk.open(config, entry_points=False) as desk:
        recorder.create_table(desk.engine)
        watchers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        try:
            for w in watchers:  # its signal handlers are in place once it says so
                assert w.stdout is not None and w.stdout.readline().startswith("running due jobs every")
            demand_ids = _submit(desk, 20)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and set(desk.job_stats()) != {"done"}:
                time.sleep(0.2)
        finally:
            for w in watchers:
                w.send_signal(signal.SIGINT if w is watchers[0] else signal.SIGTERM)
            results = [w.communicate(timeout=30) for w in watchers]
        assert set(desk.job_stats()) == {"done"}, (desk.job_stats(), results)
        assert {str(desk.get(d).state) for d in demand_ids} == {"fulfilled"}
        assert set(recorder.executions(desk.engine).values()) == {1}
        n_jobs = sum(desk.job_stats().values())
    total = 0
    for w, (stdout, stderr) in zip(watchers, results, strict=True):
        assert w.returncode == 0, stderr
        assert "Traceback" not in stderr, stderr
        last = stdout.strip().splitlines()[-1]
        assert last.startswith("stopped: ran "), stdout
        total += int(last.split()[2])
    assert total == n_jobs, "the watchers ran every job between them, each once"


# ---------------------------------------------------------------- the runner contract on the core's runners


class TestInlineRunnerContract(JobRunnerContract):
    @pytest.fixture
    def runner_record(self) -> RunnerComponent:
        return inline_runner_component()

    @pytest.fixture
    def desk(self, itsm_deployment_factory: Callable[..., Path], database_url: str) -> Iterator[Desk]:
        config = itsm_deployment_factory(self.config('[runner]\nuse = "inline"\n'), database=database_url)
        with Desk.open(config, entry_points=False) as desk:
            yield desk

    @pytest.fixture
    def drain(self) -> Callable[[Desk, float], None]:
        return lambda desk, timeout: None  # the jobs ran in wake, before submit returned


class TestDeferredRunnerContract(JobRunnerContract):
    @pytest.fixture
    def runner_record(self) -> RunnerComponent:
        return deferred_runner_component()

    @pytest.fixture
    def desk(self, itsm_deployment_factory: Callable[..., Path], database_url: str) -> Iterator[Desk]:
        config = itsm_deployment_factory(self.config(DEFERRED), database=database_url)
        with Desk.open(config, entry_points=False) as desk:
            yield desk

    @pytest.fixture
    def drain(self) -> Callable[[Desk, float], None]:
        def drain(desk: Desk, timeout: float) -> None:
            desk.run_due_jobs()  # what `itsm jobs run` does

        return drain


def test_outstanding_jobs_counts_running_and_due_at_one_instant(desk: Desk) -> None:
    _submit(desk, 2)  # each: an acknowledgement and one recorded step, pending and due
    assert desk.outstanding_jobs() == 4
    claimed = desk.claim_due(limit=1)
    assert claimed and desk.outstanding_jobs() == 4, "a claimed job is still outstanding: it is running"
    desk.execute_job(claimed[0])
    desk.run_due_jobs()
    assert desk.outstanding_jobs() == 0
    (retry,) = _submit(desk, 1, service="contract-retry")
    desk.run_due_jobs()  # its step fails temporarily and asks to be retried in an hour
    assert [j.state for j in desk.jobs(demand_id=retry) if j.step >= 0] == [JobState.PENDING]
    assert desk.outstanding_jobs() == 0, "a retry due later is not outstanding now"


def test_idempotency_keys_are_unique_per_database_not_just_per_demand_id(
    itsm_deployment_factory: Callable[..., Path], tmp_path: Path
) -> None:
    """A database made again from scratch numbers its demands from 1 again: its keys must differ,
    or a remote system that deduplicates by key would hand the new demand 1 the old one's account."""
    import re

    def first_step_key(database: Path) -> tuple[int, str]:
        config = itsm_deployment_factory(JobRunnerContract.config(DEFERRED), database=f"sqlite:///{database}")
        with Desk.open(config, entry_points=False) as d:
            (demand_id,) = _submit(d, 1)
            (step,) = [j for j in d.jobs(demand_id=demand_id) if j.action == recorder.ACTION]
            return demand_id, step.key

    first_id, first_key = first_step_key(tmp_path / "one.db")
    again_id, again_key = first_step_key(tmp_path / "two.db")
    assert first_id == again_id == 1
    assert first_key != again_key
    # the documented format: NAME@STORE:demand:ID:step:N:ACTION, STORE being 12 hex digits
    for key in (first_key, again_key):
        assert re.fullmatch(rf"[\w.-]+@[0-9a-f]{{12}}:demand:1:step:0:{re.escape(recorder.ACTION)}", key), key
