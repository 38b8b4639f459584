"""The service catalog as customers meet it: search, eligibility, and what is known already."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from sqlalchemy import func, insert, select

from .. import catalog as index
from ..asks import prefill
from ..config import did_you_mean
from ..eligibility import Decision, rule_decision
from ..errors import UnknownService
from ..i18n import N_, Translator, translator
from ..model import Customer, DemandKind, DemandState, Service
from ..plugins import ErrorHandler
from ..store import tables as t
from .context import Context
from .customers import Customers


@attrs.frozen(kw_only=True)
class Held:
    """Why the catalog tells a customer "You already have this", so they need not ask twice."""

    #: Their earlier request for the service that was fulfilled, if that is how they got it.
    demand_id: int | None = None
    #: Their configuration item naming the service, when the CMDB says they have it.
    item: str = ""


@attrs.frozen(kw_only=True)
class CatalogEntry:
    """A service as one customer sees it in the catalog."""

    service: Service
    eligible: bool
    reason: str = ""
    next_step: str = ""
    score: float = 0.0
    matched: str = ""
    #: Set when the customer already has the service (see :meth:`Catalog.already_has`).
    held: Held | None = None


#: The states of a value demand whose customer has the outcome.
_HAD = (str(DemandState.FULFILLED), str(DemandState.CLOSED))


class Catalog:
    """The configured services, mirrored into the store for search and reports."""

    def __init__(self, ctx: Context, customers: Customers):
        self.ctx = ctx
        self.customers = customers
        self._words: Mapping[str, Any] | None = None  # built on the first search
        #: The customer's language, for the words of a refusal: the desk plugs its preferences in here.
        self.translator_for: Callable[[Customer], Translator] = lambda c: translator()

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(self.ctx.services.values())

    def get(self, key: str) -> Service:
        s = self.ctx.services.get(key)
        if s is None:
            raise UnknownService(key, did_you_mean(key, self.ctx.services))
        return s

    def find(self, key: str | None) -> Service | None:
        return self.ctx.services.get(key or "")

    def sync(self) -> None:
        """Mirror the configured catalog into the store (only when it changed)."""
        services = self.ctx.config.services
        wanted_rows = [
            {
                "key": s.key,
                "name": s.name,
                "category": s.category,
                "keywords": " ".join(s.keywords),
                "description": s.description,
                "kind": str(s.kind),
            }
            for s in services
        ]
        with self.ctx.engine.begin() as conn:
            existing = {r.key: tuple(r) for r in conn.execute(select(*t.services.c))}
            wanted = {r["key"]: tuple(r.values()) for r in wanted_rows}
            if existing == wanted:
                return
            conn.execute(t.services.delete())
            if wanted_rows:
                conn.execute(insert(t.services), wanted_rows)
            index.rebuild(conn, services)

    def search(self, query: str, *, customer: str | Customer | None = None, limit: int = 10) -> list[CatalogEntry]:
        """Catalog search, best match first; with ``customer``, each result says if they can have it."""
        cust = self.customers.resolve(customer) if customer is not None else None
        if self._words is None:
            self._words = index.service_words(self.ctx.config.services)
        with self.ctx.engine.connect() as conn:
            hits = index.search(conn, self.ctx.services, query, limit, words_of=self._words)
        if cust is None:
            return [CatalogEntry(service=h.service, eligible=True, score=h.score, matched=h.matched) for h in hits]
        # One customer for every hit: look their manager up once, ask the hook only if implemented.
        managers: dict[str, str | None] = {}

        def manager_name(manager_id: str) -> str | None:
            if manager_id not in managers:
                managers[manager_id] = self.customers.first_name(manager_id)
            return managers[manager_id]

        hooks = self.ctx.host.implemented("itsm_check_eligibility")
        on_error = self.ctx.on_error(None)
        held = self._held(cust, [h.service for h in hits])
        translator_of = self._translator_of(cust)
        out = []
        for hit in hits:
            d = self._eligibility(cust, hit.service, manager_name, hooks, on_error, translator_of)
            out.append(
                CatalogEntry(
                    service=hit.service,
                    eligible=d.eligible,
                    reason=d.reason,
                    next_step=d.next_step,
                    score=hit.score,
                    matched=hit.matched,
                    held=held.get(hit.service.key),
                )
            )
        return out

    def already_has(self, customer: str | Customer, service: str | Service) -> Held | None:
        """Whether the customer has the service already: a fulfilled request of theirs, or a CI naming it.

        Asking again for what one has is wasted effort on both sides; the catalog says so
        and links to the earlier request instead.
        """
        svc = service if isinstance(service, Service) else self.get(service)
        return self._held(self.customers.resolve(customer), [svc]).get(svc.key)

    def _held(self, customer: Customer, services: list[Service]) -> dict[str, Held]:
        """:meth:`already_has` for many services: one query for the demands, one directory call for the CIs."""
        if not services:
            return {}
        keys = [s.key for s in services]
        d = t.demands
        with self.ctx.engine.connect() as conn:
            latest = {
                r.service_key: int(r.id)
                for r in conn.execute(
                    select(d.c.service_key, func.max(d.c.id).label("id"))
                    .where(
                        d.c.customer_id == customer.id,
                        d.c.kind == str(DemandKind.VALUE),
                        d.c.state.in_(_HAD),
                        d.c.service_key.in_(keys),
                    )
                    .group_by(d.c.service_key)
                )
            }
        out = {key: Held(demand_id=did) for key, did in latest.items()}
        missing = [s for s in services if s.key not in out]
        if missing:
            items = self.customers.configuration_items(customer.id)
            for s in missing:
                names = {s.key.casefold(), s.name.casefold()}
                item = next(
                    (ci for ci in items if any(str(v).casefold() in names for v in ci.attributes.values())), None
                )
                if item is not None:
                    out[s.key] = Held(item=item.name)
        return out

    def eligibility(self, customer: Customer, service: Service) -> Decision:
        """The service's rule, then every plugin's check; any "no" wins."""
        return self._eligibility(
            customer,
            service,
            self.customers.first_name,
            self.ctx.host.implemented("itsm_check_eligibility"),
            None,
            self._translator_of(customer),
        )

    def _translator_of(self, customer: Customer) -> Callable[[], Translator]:
        """The customer's translator, read from their preferences on first use only (a refusal), then kept."""
        return functools.cache(lambda: self.translator_for(customer))

    def _eligibility(
        self,
        customer: Customer,
        service: Service,
        manager_name: Callable[[str], str | None],
        hooks: bool,
        on_error: ErrorHandler | None,
        translator_of: Callable[[], Translator],
    ) -> Decision:
        """:meth:`eligibility` with what a caller checking many services works out once (a refusal is read
        by the customer, in their language: ``translator_of``)."""
        decision = rule_decision(service, customer, manager_name, translator_of)
        if not decision.eligible or not hooks:
            return decision
        checks = self.ctx.host.check_eligibility(self.ctx.desk, customer, service, on_error or self.ctx.on_error(None))
        for plugin, d in checks:
            if not d.eligible:
                why = d.reason or translator_of()(N_("{service} is not available to you."), service=service.name)
                return Decision(False, why, d.next_step, plugin)
        return decision

    def prefill(self, service: str | Service, customer: str | Customer) -> dict[str, str]:
        """What the directory and CMDB already know for each of the service's asks."""
        svc = service if isinstance(service, Service) else self.get(service)
        cust = self.customers.resolve(customer)
        items = self.customers.configuration_items(cust.id)
        out = {}
        for ask in svc.asks:
            value = prefill(ask, cust, items)
            if value is not None:
                out[ask.name] = value
        return out
