"""A plugin module that records every journey hook call into the deployment's own database.

For :class:`~itsmcore.testing.ObserverContract` when demands are moved by more than one
process (celery workers, ``itsm jobs run``, a portal): an in-memory
:class:`~itsmcore.testing.HookRecorder` sees only its own. Name :data:`MODULE` in the
deployment's ``[plugins] modules``; every process that opens the deployment loads it, and
each hook call becomes a row of the ``itsm_hook_calls`` table, which this module creates
when a desk opens. Then, in the test::

    from itsmcore.testing import ObserverContract, StoredHookLog

    ObserverContract.assert_complete(desk, StoredHookLog(desk.engine))

Wait until the other processes are done first (no job running or due): a hook is called
after its commit, so a check made while a worker is between the two can report a call
that is only late.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, insert, inspect, select
from sqlalchemy.exc import DBAPIError

from ..model import Demand, DemandState, JourneyEvent, Stage
from ..plugins import hookimpl
from .observer import EVENT, RECEIVED, STAGE, STATE, HookCall, SeenEvent

if TYPE_CHECKING:
    from ..desk import Desk

ITSM_CONTRACT = "1.0"

#: The module to name in ``[plugins] modules``.
MODULE = __name__

_metadata = MetaData()
hook_calls = Table(
    "itsm_hook_calls",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hook", String(64), nullable=False),
    Column("demand_id", Integer, nullable=False),
    Column("state", String(32), nullable=False),
    Column("previous", String(32)),
    Column("event_id", Integer),
    Column("event_demand_id", Integer),
    Column("event_stage", String(16)),
    Column("event_kind", String(32)),
    Column("event_customer_sees", Text),
    Column("pid", Integer, nullable=False),
)


def create_table(engine: Engine) -> None:
    """Create the table if it is missing; two processes opening a fresh deployment at once may both try."""
    try:
        _metadata.create_all(engine, checkfirst=True)
    except DBAPIError:
        if not inspect(engine).has_table(hook_calls.name):
            raise  # not the race: a real failure


def _write(
    desk: Desk, hook: str, demand: Demand, *, previous: DemandState | None = None, event: JourneyEvent | None = None
) -> None:
    row = {
        "hook": hook,
        "demand_id": demand.id,
        "state": str(demand.state),
        "previous": str(previous) if previous is not None else None,
        "event_id": event.id if event is not None else None,
        "event_demand_id": event.demand_id if event is not None else None,
        "event_stage": str(event.stage) if event is not None else None,
        "event_kind": event.kind if event is not None else None,
        "event_customer_sees": event.customer_sees if event is not None else None,
        "pid": os.getpid(),
    }
    with desk.engine.begin() as conn:
        conn.execute(insert(hook_calls), row)


@hookimpl
def itsm_desk_opened(desk: Desk) -> None:
    create_table(desk.engine)


@hookimpl
def itsm_demand_received(desk: Desk, demand: Demand) -> None:
    _write(desk, RECEIVED, demand)


@hookimpl
def itsm_event_recorded(desk: Desk, demand: Demand, event: JourneyEvent) -> None:
    _write(desk, EVENT, demand, event=event)


@hookimpl
def itsm_stage_entered(desk: Desk, demand: Demand, event: JourneyEvent) -> None:
    _write(desk, STAGE, demand, event=event)


@hookimpl
def itsm_demand_state_changed(desk: Desk, demand: Demand, previous: DemandState) -> None:
    _write(desk, STATE, demand, previous=previous)


class StoredHookLog:
    """The hook calls every process wrote into ``itsm_hook_calls``, in the order written (a :class:`~itsmcore.testing.HookLog`)."""

    #: The plugin module that writes them: name it in ``[plugins] modules``.
    PLUGIN_MODULE = MODULE

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def calls(self) -> tuple[HookCall, ...]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(hook_calls).order_by(hook_calls.c.id)).all()
        return tuple(
            HookCall(
                seq=r.id,
                hook=r.hook,
                demand_id=r.demand_id,
                state=DemandState(r.state),
                previous=DemandState(r.previous) if r.previous is not None else None,
                event=None
                if r.event_demand_id is None
                else SeenEvent(
                    id=r.event_id,
                    demand_id=r.event_demand_id,
                    stage=Stage(r.event_stage),
                    kind=r.event_kind,
                    customer_sees=r.event_customer_sees or "",
                ),
                pid=r.pid,
            )
            for r in rows
        )


__all__ = ["MODULE", "StoredHookLog", "create_table", "hook_calls"]
