"""Reading demands: one demand, its journey, its jobs and failures, lists and lookups."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import bindparam, select

from ..errors import NotFound
from ..model import Demand, DemandKind, DemandState, JourneyEvent
from ..model.job import Job
from ..store import rows
from ..store import tables as t
from .context import Context


@attrs.frozen(kw_only=True)
class PluginFailure:
    """A hook implementation that raised, recorded against a demand."""

    plugin: str
    hook: str
    error: str
    at: datetime
    demand_id: int | None = None


@attrs.frozen(kw_only=True)
class DemandView:
    """A demand with its whole journey, its jobs and any plugin failures."""

    demand: Demand
    journey: tuple[JourneyEvent, ...]
    jobs: tuple[Job, ...]
    failures: tuple[PluginFailure, ...]
    outputs: Mapping[str, Any]


_SELECT_DEMAND = select(t.demands).where(t.demands.c.id == bindparam("b_id"))
_SELECT_EVENT_BY_REF = select(t.journey_events).where(t.journey_events.c.external_ref == bindparam("b_ref"))


def _failure(r: Any) -> PluginFailure:
    return PluginFailure(plugin=r.plugin, hook=r.hook, error=r.error, at=rows.aware(r.at), demand_id=r.demand_id)  # type: ignore[arg-type]


class Demands:
    """The read side of demands; nothing here writes."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def get(self, demand_id: int) -> Demand:
        with self.ctx.engine.connect() as conn:
            row = conn.execute(_SELECT_DEMAND, {"b_id": demand_id}).first()
        if row is None:
            raise NotFound(f"unknown demand {demand_id}")
        return rows.demand(row)

    def journey(self, demand_id: int) -> list[JourneyEvent]:
        with self.ctx.engine.connect() as conn:
            found = conn.execute(
                select(t.journey_events)
                .where(t.journey_events.c.demand_id == demand_id)
                .order_by(t.journey_events.c.id)
            ).all()
        return [rows.event(r) for r in found]

    def show(self, demand_id: int) -> DemandView:
        """A demand with its journey, jobs, plugin failures and outputs."""
        demand = self.get(demand_id)
        with self.ctx.engine.connect() as conn:
            jobs = conn.execute(select(t.jobs).where(t.jobs.c.demand_id == demand_id).order_by(t.jobs.c.id)).all()
            errs = conn.execute(
                select(t.plugin_errors).where(t.plugin_errors.c.demand_id == demand_id).order_by(t.plugin_errors.c.id)
            ).all()
            outputs = conn.execute(select(t.demands.c.outputs).where(t.demands.c.id == demand_id)).scalar_one()
        return DemandView(
            demand=demand,
            journey=tuple(self.journey(demand_id)),
            jobs=tuple(rows.job(r) for r in jobs),
            failures=tuple(_failure(r) for r in errs),
            outputs=outputs or {},
        )

    def listing(
        self,
        *,
        customer: str | None = None,
        kind: DemandKind | str | None = None,
        state: DemandState | str | None = None,
        service: str | None = None,
        open_only: bool = False,
        limit: int = 100,
        before: int | None = None,
    ) -> list[Demand]:
        """Newest first; ``before`` (a demand id) starts the page after that demand."""
        q = select(t.demands).order_by(t.demands.c.id.desc()).limit(limit)
        if before is not None:
            q = q.where(t.demands.c.id < before)
        if customer:
            q = q.where(t.demands.c.customer_id == customer)
        if kind:
            q = q.where(t.demands.c.kind == str(DemandKind(kind)))
        if state:
            q = q.where(t.demands.c.state == str(DemandState(state)))
        if service:
            q = q.where(t.demands.c.service_key == service)
        if open_only:
            q = q.where(t.demands.c.state.not_in(["closed", "cancelled", "rejected"]))
        with self.ctx.engine.connect() as conn:
            return [rows.demand(r) for r in conn.execute(q)]

    def plugin_failures(self, demand_id: int | None = None) -> list[PluginFailure]:
        q = select(t.plugin_errors).order_by(t.plugin_errors.c.id)
        if demand_id is not None:
            q = q.where(t.plugin_errors.c.demand_id == demand_id)
        with self.ctx.engine.connect() as conn:
            return [_failure(r) for r in conn.execute(q)]

    def by_external_ref(self, ref: str) -> Demand | None:
        """The demand taken in with this external reference (e.g. an email Message-ID)."""
        with self.ctx.engine.connect() as conn:
            row = conn.execute(select(t.demands).where(t.demands.c.external_ref == ref)).first()
        return rows.demand(row) if row else None

    def event_by_external_ref(self, ref: str) -> JourneyEvent | None:
        """The journey event recorded with this external reference, on any demand (one index lookup)."""
        with self.ctx.engine.connect() as conn:
            row = conn.execute(_SELECT_EVENT_BY_REF, {"b_ref": ref}).first()
        return rows.event(row) if row else None
