"""The celery runner passes the core's job runner contract, with real workers over Redis and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from itsmcore import Desk, RunnerComponent
from itsmcore.testing import JobRunnerContract

from celery_servers import Workers
from itsm_celery.runner import celery_runner_component


class TestCeleryRunnerContract(JobRunnerContract):
    demands = 8

    @pytest.fixture
    def runner_record(self) -> RunnerComponent:
        return celery_runner_component()

    @pytest.fixture
    def customer_id(self) -> str:
        return "c0000001"  # of the suite's synthetic directory

    @pytest.fixture
    def contract_config(self, make_config: Callable[..., Path]) -> Path:
        """The suite's deployment (celery runner, Redis, PostgreSQL) with the contract's plugin module and services."""
        # a lease far longer than a job takes, however busy the machine: "claimed once" is the contract
        # here, and the suite's 3 s lease (for the takeover tests) can run out under load
        config = make_config(customers=5, lease_seconds=120)
        text = config.read_text(encoding="utf-8")
        modules = 'modules = ["celerytest_plugin"]'
        assert modules in text
        text = text.replace(modules, f'modules = ["celerytest_plugin", "{self.PLUGIN_MODULE}"]')
        config.write_text(text + self.SERVICES, encoding="utf-8")
        return config

    @pytest.fixture
    def desk(self, contract_config: Path) -> Iterator[Desk]:
        with Desk.open(contract_config) as desk:
            yield desk

    @pytest.fixture
    def drain(self, contract_config: Path, workers: Callable[[Path], Workers]) -> Callable[[Desk, float], None]:
        pool: list[Workers] = []

        def drain(desk: Desk, timeout: float) -> None:
            """Start two workers on first use; wait until no job is running and none is due."""
            if not pool:
                pool.append(workers(contract_config))
                pool[0].start(2)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                # one snapshot: asking "running?" then "due?" misses a job claimed in between
                if not desk.outstanding_jobs():
                    return
                time.sleep(0.2)
            raise AssertionError(f"jobs still running or due after {timeout}s: {desk.job_stats()}\n{pool[0].logs()}")

        return drain
