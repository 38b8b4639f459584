"""The journey hooks' contract over real workers: every process's hook calls, checked with the core's kit."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from itsmcore import DemandState, Desk
from itsmcore.testing import ObserverContract, StoredHookLog

from celery_servers import Workers
from conftest import create_test_tables, wait_for_jobs


def test_a_value_demand_fulfilled_by_workers_reaches_every_hook_once(
    make_config: Callable[..., Path], workers: Callable[[Path], Workers]
) -> None:
    config = make_config(customers=5)
    text = config.read_text(encoding="utf-8")
    modules = 'modules = ["celerytest_plugin"]'
    assert modules in text
    # every process that opens the deployment (this one, each worker) records its hook calls in the database
    config.write_text(
        text.replace(modules, f'modules = ["celerytest_plugin", "{StoredHookLog.PLUGIN_MODULE}"]'), encoding="utf-8"
    )
    with Desk.open(config) as desk:
        create_test_tables(desk)
        pool = workers(config)
        pool.start(2)
        demand_id = desk.submit("value", "c0000001", "Recorder please", service="record").demand.id
        # the acknowledgement, the plan's step, then the outcome it queues
        wait_for_jobs(desk, at_least=3, timeout=180, logs=pool.logs)
        assert desk.get(demand_id).state is DemandState.FULFILLED, pool.logs()
        log = StoredHookLog(desk.engine)
        # a worker calls the hooks just after its commit: give the last calls time to land
        deadline = time.monotonic() + 60
        while ObserverContract.problems(desk, log) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert {c.pid for c in log.calls()} - {os.getpid()}, "the workers' hook calls are in the log"
        ObserverContract.assert_complete(desk, log)
