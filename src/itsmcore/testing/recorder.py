"""A plugin module for :class:`~itsmcore.testing.JobRunnerContract`: the ``contract.record`` action.

A deployment names it in ``[plugins] modules``, so every process that runs jobs (the
test's own, ``itsm jobs run``, a worker on another machine) loads the same action.
Each execution inserts the job's idempotency key into the ``itsm_contract_runs``
table of the deployment's own database: a test in any process counts there how many
times each job ran. With ``fail = "temporary"`` in its plan step the action raises
:class:`~itsmcore.TemporaryFailure` (retry in an hour) after recording the attempt.
"""

from __future__ import annotations

import os
from collections import Counter

import attrs
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, insert, select

from ..components import ActionComponent, ActionRequest, ActionResult, ComponentContext
from ..errors import TemporaryFailure
from ..plugins import hookimpl

ITSM_CONTRACT = "1.0"

#: The module to name in ``[plugins] modules``.
MODULE = __name__

#: The action's name, for a service's ``plan``.
ACTION = "contract.record"

_metadata = MetaData()
runs = Table(
    "itsm_contract_runs",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(256), nullable=False),
    Column("pid", Integer, nullable=False),
)


def create_table(engine: Engine) -> None:
    """Create the table the action records into (once, before any job runs: workers do not race to create it)."""
    _metadata.create_all(engine, checkfirst=True)


def executions(engine: Engine) -> Counter[str]:
    """How many times each idempotency key was executed."""
    with engine.connect() as conn:
        return Counter(conn.execute(select(runs.c.key)).scalars())


@attrs.frozen(kw_only=True)
class RecordParams:
    fail: str = attrs.field(
        default="",
        metadata={"doc": 'Set to "temporary" to raise TemporaryFailure (retry in an hour) after recording the run.'},
    )


class RecordAction:
    """Records every execution; idempotent in what it reports (the same key gives the same outputs)."""

    def __init__(self, _settings: object, _context: ComponentContext) -> None:
        pass

    def run(self, request: ActionRequest) -> ActionResult:
        with request.desk.engine.begin() as conn:
            conn.execute(insert(runs), {"key": request.idempotency_key, "pid": os.getpid()})
        if request.params.fail == "temporary":
            raise TemporaryFailure("the contract's recording action failed on purpose", retry_after=3600)
        return ActionResult(behind_scenes=f"recorded {request.idempotency_key}", outputs={"recorded": True})


@hookimpl
def itsm_fulfilment_actions() -> list[ActionComponent]:
    return [
        ActionComponent(
            name=ACTION,
            factory=RecordAction,
            params=RecordParams,
            description="Records each execution of a job (the job runner contract counts them).",
        )
    ]
