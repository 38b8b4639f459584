"""What the journey hooks cost: intake and job execution with no observer, and with one of every journey hook.

Every change to a demand goes through the journey writer, which calls the journey hooks
after commit. When no plugin implements them, nothing is built for them (no ids come
back, no events are made); this prints each figure beside the same work with no
observer, measured in the same run, so the ratio says what a deployment pays for the
contract and what an observer costs on top.

Run: ``tox -e bench`` or ``python bench/hooks.py [--n 2000]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import best_of, rate, report, write_deployment

from itsmcore import hookimpl
from itsmcore.desk import Desk


class Observer:
    """The cheapest observer of every journey hook: it counts."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def itsm_demand_received(self) -> None:
        self.calls += 1

    @hookimpl
    def itsm_event_recorded(self) -> None:
        self.calls += 1

    @hookimpl
    def itsm_stage_entered(self) -> None:
        self.calls += 1

    @hookimpl
    def itsm_demand_state_changed(self) -> None:
        self.calls += 1


def intake(n: int, plugins: list[Any]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_deployment(Path(tmp))
        with Desk.open(config, entry_points=False, plugins=plugins) as desk:
            return rate(n, lambda i: desk.submit("failure", f"c{i % 1000}", f"demand {i}", channel="bench"))


def jobs(n: int, plugins: list[Any]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_deployment(Path(tmp))
        with Desk.open(config, entry_points=False, plugins=plugins) as desk:
            for i in range(n):
                desk.submit("failure", f"c{i % 1000}", f"demand {i}", channel="bench")
            t0 = time.perf_counter()
            ran = desk.run_due_jobs()
            return ran / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000, help="demands per measurement")
    ap.add_argument("--runs", type=int, default=3, help="measurements per figure (median)")
    args = ap.parse_args()
    bare = best_of(args.runs, lambda: intake(args.n, []))
    observed = best_of(args.runs, lambda: intake(args.n, [Observer()]))
    print(f"journey hooks on SQLite, {args.n} demands, median of {args.runs}")
    print(report("desk.submit, one observer of every hook", observed, "demands/s", "| no observer", bare))
    bare_jobs = best_of(args.runs, lambda: jobs(args.n, []))
    observed_jobs = best_of(args.runs, lambda: jobs(args.n, [Observer()]))
    print(report("inline jobs, one observer of every hook", observed_jobs, "jobs/s", "| no observer", bare_jobs))


if __name__ == "__main__":
    main()
