"""Helpers shared by the benchmarks: deployments in temp dirs, timing, printing ratios, ceiling statements."""

from __future__ import annotations

import statistics
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Update, and_, bindparam, or_, select, update

from itsmcore.store import tables as t


def ceiling_claim(batch: int, *returning: Any) -> Update:
    """The job ceilings' claim: the same batch UPDATE ... WHERE id IN (SELECT ... SKIP LOCKED) as the desk's."""
    due = t.jobs.alias("due")
    return (
        update(t.jobs)
        .where(
            t.jobs.c.id.in_(
                select(due.c.id)
                .where(
                    or_(
                        and_(due.c.state == "pending", due.c.run_after <= bindparam("b_now")),
                        and_(due.c.state == "running", due.c.lease_until < bindparam("b_now")),
                    )
                )
                .order_by(due.c.run_after, due.c.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        .values(
            state="running",
            lease_until=bindparam("b_lease", type_=t.jobs.c.lease_until.type),
            attempts=t.jobs.c.attempts + 1,
        )
        .returning(*returning)
    )


#: The job ceilings' end of a job: marked done with its result.
CEILING_DONE = (
    update(t.jobs)
    .where(t.jobs.c.id == bindparam("b_id"), t.jobs.c.state == "running")
    .values(
        state="done",
        finished_at=bindparam("b_now", type_=t.jobs.c.finished_at.type),
        result=bindparam("b_result", type_=t.jobs.c.result.type),
        lease_until=None,
        error=None,
    )
)


def write_deployment(
    root: Path,
    *,
    customers: int = 1000,
    services: str = "",
    runner: str = "deferred",
    database: str = "sqlite:///itsm.db",
) -> Path:
    """A deployment with ``customers`` generated customers and the given catalog TOML, on ``database``."""
    lines = []
    for i in range(customers):
        lines.append(
            f'[[customers]]\nid = "c{i}"\nname = "Customer {i}"\nemail = "c{i}@example.org"\n'
            f'mobile = "+4477009{i:05d}"\nrole = "{"sales" if i % 2 else "engineer"}"\n'
            f'department = "Sales"\ngroups = ["staff"]\nmanager = "c0"\n'
        )
        lines.append(
            f'[[devices]]\nid = "ci-phone-{i}"\nkind = "device"\nname = "Phone {i}"\nowner = "c{i}"\n'
            f'attributes = {{ number = "+4477009{i:05d}", os = "iOS" }}\n'
        )
    (root / "customers.toml").write_text("\n".join(lines))
    config = root / "itsm.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [deployment]
            name = "bench"
            database = "{database}"

            [runner]
            use = "{runner}"

            [directory.main]
            use = "file"
            path = "customers.toml"
            """
        )
        + services
    )
    return config


def rate(n: int, fn: Callable[[int], object]) -> float:
    """Calls per second of ``fn(i)`` for i in range(n)."""
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - t0)


def best_of(runs: int, measure: Callable[[], float]) -> float:
    """The median of ``runs`` measurements (these machines are noisy)."""
    return statistics.median(measure() for _ in range(runs))


def report(label: str, value: float, unit: str, ceiling_label: str, ceiling: float, goal: float | None = None) -> str:
    ratio = value / ceiling if ceiling else float("nan")
    line = f"{label:<44} {value:>10,.0f} {unit:<10} {ceiling_label} {ceiling:>10,.0f} {unit:<10} ratio {ratio:6.1%}"
    if goal is not None:
        line += f"  (goal >= {goal:.0%}: {'met' if ratio >= goal else 'NOT met'})"
    return line
