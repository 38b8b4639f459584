"""The desk: the one Python API that the CLI, channels and the portal call.

Every change a demand goes through is made here, in one transaction with its
journey events and the jobs it causes; the journey hooks are called here after the
commit. A hook implementation that raises is recorded against the demand with the
plugin's name, and the demand is kept.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

import attrs
from sqlalchemy import Connection, Engine, Integer, and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from .asks import validate_answers
from .components import (
    ActionComponent,
    ActionRequest,
    ActionResult,
    Answer,
    Channel,
    Intake,
    JobRunner,
    Message,
    SurveyMethod,
)
from .config import CONVERTER, did_you_mean
from .deployment import Deployment, Directory
from .eligibility import Decision, rule_decision
from .errors import (
    IllegalTransition,
    IneligibleCustomer,
    InvalidAnswers,
    NotFound,
    PermanentFailure,
    StoreUnavailable,
    TemporaryFailure,
    TooManyAttempts,
    UnknownCustomer,
    UnknownService,
)
from .jobs import LEASE, DeferredRunner, Job, JobState, backoff
from .logs import log_context
from .model import (
    Actor,
    Announcement,
    ConfigurationItem,
    Customer,
    Demand,
    DemandKind,
    DemandState,
    JourneyEvent,
    Link,
    Priority,
    Service,
    Stage,
    SurveyResponse,
    check_transition,
)
from .store import tables as t
from .store.engine import open_engine, resolve_url

log = logging.getLogger("itsmcore.desk")

Clock = Callable[[], datetime]


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _about_demand(method: Callable[Concatenate[Desk, int, _P], _R]) -> Callable[Concatenate[Desk, int, _P], _R]:
    """Every line logged while ``method`` works on its demand (its first argument) names that demand."""

    @functools.wraps(method)
    def wrapper(self: Desk, demand_id: int, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with log_context(demand_id=demand_id):
            return method(self, demand_id, *args, **kwargs)

    return wrapper


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@attrs.frozen(kw_only=True)
class Receipt:
    """What a submission gives back: the demand and what to show the customer now."""

    demand: Demand
    acknowledgement: str
    links: tuple[Link, ...] = ()
    duplicate: bool = False


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


@attrs.frozen(kw_only=True)
class CatalogEntry:
    """A service as one customer sees it in the catalog."""

    service: Service
    eligible: bool
    reason: str = ""
    next_step: str = ""
    score: float = 0.0
    matched: str = ""


class _Keep:
    """Marker: leave a column as it is."""


_KEEP = _Keep()

_TOKEN = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{name}`` placeholders from a flat mapping; no attribute access, no code."""
    return _TOKEN.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


class Desk:
    """A deployment's service desk. Open with :meth:`open`; close when done."""

    def __init__(self, deployment: Deployment, engine: Engine, *, clock: Clock = utcnow):
        self.deployment = deployment
        self.config = deployment.config
        self.host = deployment.host
        self.engine = engine
        self.clock = clock
        self.directory = Directory(deployment.directories())
        self._services = {s.key: s for s in self.config.services}
        self._channels: dict[str, Channel] | None = None
        self._runner = deployment.runner()
        # how long a claim lasts before another runner may take the job over: the runner's say, else LEASE
        lease = getattr(self._runner, "lease", None)
        self._lease: timedelta = lease if isinstance(lease, timedelta) else LEASE
        self._running_jobs = False
        self._catalog_words: Mapping[str, Any] | None = None  # built on the first search
        self._sync_catalog()
        self.host.desk_opened(self, self._on_error(None))

    @classmethod
    def open(
        cls,
        config: str | os.PathLike[str] | None = None,
        *,
        plugins: Sequence[object] = (),
        entry_points: bool = True,
        clock: Clock = utcnow,
        migrate: bool = True,
    ) -> Desk:
        """Load the deployment at ``config`` and open its store (upgrading an empty one)."""
        deployment = Deployment.load(config, plugins=plugins, entry_points=entry_points)
        url = resolve_url(deployment.config.deployment.database, deployment.config.base_dir)
        engine = open_engine(url, migrate=migrate)
        return cls(deployment, engine, clock=clock)

    def close(self) -> None:
        """Release the database connections and the components' resources."""
        self.deployment.close()
        self.engine.dispose()

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def runner(self) -> JobRunner:
        """The deployment's job runner (inline, deferred, or a plugin's such as celery)."""
        return self._runner

    @property
    def name(self) -> str:
        return self.deployment.name

    # ------------------------------------------------------------------ secret

    def secret(self) -> bytes:
        """The deployment's signing secret (``ITSM_SECRET``, else its secret file, created 0600)."""
        from .components import deployment_secret

        return deployment_secret(self.config.base_dir / self.config.deployment.secret_file)

    # ------------------------------------------------------------------ plugin errors

    def _on_error(self, demand_id: int | None) -> Callable[[str, str, BaseException], None]:
        def record(plugin: str, hook: str, exc: BaseException) -> None:
            text = f"{type(exc).__name__}: {exc}"
            log.warning(
                "plugin %s failed in %s for demand %s: %s",
                plugin,
                hook,
                demand_id,
                text,
                extra={"demand_id": demand_id},
            )
            log.debug("".join(traceback.format_exception(exc)), extra={"demand_id": demand_id})
            with self.engine.begin() as conn:
                conn.execute(
                    insert(t.plugin_errors).values(
                        demand_id=demand_id, plugin=plugin, hook=hook, error=text[:4000], at=self.clock()
                    )
                )

        return record

    # ------------------------------------------------------------------ customers

    def get_customer(self, customer_id: str) -> Customer:
        c = self.directory.get_customer(customer_id)
        if c is None:
            raise UnknownCustomer(customer_id, "see 'itsm customer list'")
        return c

    def find_customer(self, customer_id: str) -> Customer | None:
        return self.directory.get_customer(customer_id)

    def customer_by_email(self, email: str) -> Customer | None:
        """The customer with this email address, for channels that only know an address."""
        return self.directory.customer_by_email(email)

    def list_customers(self) -> list[Customer]:
        return sorted(self.directory.list_customers(), key=lambda c: c.id)

    def configuration_items(self, customer_id: str) -> list[ConfigurationItem]:
        return self.directory.configuration_items(customer_id)

    def authenticate(
        self,
        login: str,
        password: str,
        *,
        address: str | None = None,
        attempts: int | None = None,
        window: timedelta | None = None,
    ) -> Customer | None:
        """The customer whose password this is (plugins first, then the directory), else ``None``.

        Guarded against password guessing by the ``[security]`` limits, counted in the
        database so that every process sharing it sees the same count: while the login
        (case-folded), or ``address`` (the client's network address, when known), has had
        too many failures within the window, raises :class:`~itsmcore.errors.TooManyAttempts`
        without asking the directory. A wrong password, an unknown login and an empty
        password all count alike, and all return ``None``: nothing says which it was.
        Success clears the login's failures. ``attempts`` and ``window`` override the
        deployment's per-login limit for this call (a channel with a rule of its own).
        """
        rules = self.config.security
        limit = attempts if attempts is not None else rules.sign_in_attempts
        span = window if window is not None else timedelta(minutes=rules.sign_in_window_minutes)
        key = self._sign_in_key(login)
        address = (address.strip()[:64] or None) if address else None
        failure = self._count_sign_in(key, address, limit, span)
        try:
            customer = None
            if login.strip() and isinstance(password, str) and password:
                customer = self.host.authenticate(self, login, password, self._on_error(None))
                if customer is None:
                    customer = self.directory.authenticate(login, password)
        except BaseException:
            # the directory could not answer (an outage): not the customer's failure
            with self.engine.begin() as conn:
                conn.execute(delete(t.sign_in_failures).where(t.sign_in_failures.c.id == failure))
            raise
        if customer is not None:
            with self.engine.begin() as conn:
                conn.execute(delete(t.sign_in_failures).where(t.sign_in_failures.c.login_key == key))
        return customer

    def unlock_sign_in(self, login: str) -> int:
        """Forget a login's failed sign-ins, so the customer may try again now; returns how many were forgotten.

        What the service desk does for a customer locked out by the ``[security]`` limit
        (``itsm customer unlock LOGIN``), on every process at once since the count is shared.
        The login is matched as :meth:`authenticate` counts it (case-folded).
        """
        with self.engine.begin() as conn:
            res = conn.execute(
                delete(t.sign_in_failures).where(t.sign_in_failures.c.login_key == self._sign_in_key(login))
            )
        log.info("sign-in failures of a login forgotten by hand (%d)", res.rowcount)
        return int(res.rowcount or 0)

    def _sign_in_key(self, login: str) -> str:
        """The login as counted: a keyed hash of its case-folded form, never the login itself."""
        typed = login.strip().casefold().encode()
        return hmac.new(self.secret(), b"sign-in\0" + typed, hashlib.sha256).hexdigest()

    def _count_sign_in(self, key: str, address: str | None, limit: int, span: timedelta) -> int:
        """Record one attempt as a failure (success deletes it) unless over a limit; the new row's id.

        Counting and recording are one step per login (and address) across processes, so
        that concurrent attempts cannot all see "one left": PostgreSQL serialises them on
        advisory locks; on SQLite the insert comes first, taking the database's write
        lock before anything is counted.
        """
        f = t.sign_in_failures
        per_address = self.config.security.sign_in_attempts_per_address if address else 0
        now = self.clock()
        since = now - span
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = [f"login:{key}"] + ([f"address:{address}"] if per_address else [])
                for name in names:  # always login before address: no two attempts wait on each other in a cycle
                    lock = int.from_bytes(
                        hashlib.sha256(b"itsm.sign_in:" + name.encode()).digest()[:8], "big", signed=True
                    )
                    conn.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": lock})
            row_id = int(
                conn.execute(insert(f).values(login_key=key, address=address, at=now).returning(f.c.id)).scalar_one()
            )
            # old rows go as new ones come: the table holds about one window of failures
            oldest = now - max(span, timedelta(minutes=self.config.security.sign_in_window_minutes))
            conn.execute(delete(f).where(f.c.at <= oldest))
            wait = 0.0
            checks = [(f.c.login_key == key, limit)] + ([(f.c.address == address, per_address)] if per_address else [])
            for which, allowed in checks:
                # the allowed-th most recent earlier failure: while it is within the window, the limit is reached
                nth = conn.execute(
                    select(f.c.at)
                    .where(which, f.c.at > since, f.c.id != row_id)
                    .order_by(f.c.at.desc(), f.c.id.desc())
                    .limit(1)
                    .offset(allowed - 1)
                ).scalar()
                if nth is not None:
                    wait = max(wait, ((_aware(nth) or now) + span - now).total_seconds())
            if wait > 0:
                log.warning(
                    "sign-in refused without checking the password: too many failures (address %s); retry in %ds",
                    address or "unknown",
                    int(wait) + 1,
                )
                raise TooManyAttempts(wait)  # rolls the attempt back: a refusal is not counted
        return row_id

    # ------------------------------------------------------------------ services

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(self._services.values())

    def get_service(self, key: str) -> Service:
        s = self._services.get(key)
        if s is None:
            raise UnknownService(key, did_you_mean(key, self._services))
        return s

    def _sync_catalog(self) -> None:
        """Mirror the configured catalog into the store, for search and for reports."""
        rows = [
            {
                "key": s.key,
                "name": s.name,
                "category": s.category,
                "keywords": " ".join(s.keywords),
                "description": s.description,
                "kind": str(s.kind),
            }
            for s in self.config.services
        ]
        with self.engine.begin() as conn:
            existing = {r.key: tuple(r) for r in conn.execute(select(*t.services.c))}
            wanted = {r["key"]: tuple(r.values()) for r in rows}
            if existing == wanted:
                return
            conn.execute(t.services.delete())
            if rows:
                conn.execute(insert(t.services), rows)
            self._after_catalog_sync(conn)

    def _after_catalog_sync(self, conn: Connection) -> None:
        from . import catalog

        catalog.rebuild(conn, self.config.services)

    def search(self, query: str, *, customer: str | Customer | None = None, limit: int = 10) -> list[CatalogEntry]:
        """Catalog search, best match first; with ``customer``, each result says if they can have it."""
        from . import catalog

        cust = None
        if customer is not None:
            cust = customer if isinstance(customer, Customer) else self.get_customer(customer)
        if self._catalog_words is None:
            self._catalog_words = catalog.service_words(self.config.services)
        with self.engine.connect() as conn:
            hits = catalog.search(conn, self._services, query, limit, words_of=self._catalog_words)
        out = []
        if cust is not None:
            # One customer for every hit: look their manager up once, ask the hook only if implemented.
            managers: dict[str, str | None] = {}

            def manager_name(manager_id: str) -> str | None:
                if manager_id not in managers:
                    managers[manager_id] = self._manager_name(manager_id)
                return managers[manager_id]

            hooks = self.host.implemented("itsm_check_eligibility")
            on_error = self._on_error(None)
        for hit in hits:
            if cust is None:
                out.append(CatalogEntry(service=hit.service, eligible=True, score=hit.score, matched=hit.matched))
                continue
            d = self._eligibility(cust, hit.service, manager_name, hooks, on_error)
            out.append(
                CatalogEntry(
                    service=hit.service,
                    eligible=d.eligible,
                    reason=d.reason,
                    next_step=d.next_step,
                    score=hit.score,
                    matched=hit.matched,
                )
            )
        return out

    def eligibility(self, customer: Customer, service: Service) -> Decision:
        """The service's rule, then every plugin's check; any "no" wins."""
        return self._eligibility(
            customer, service, self._manager_name, self.host.implemented("itsm_check_eligibility"), None
        )

    def _eligibility(
        self,
        customer: Customer,
        service: Service,
        manager_name: Callable[[str], str | None],
        hooks: bool,
        on_error: Callable[[str, str, BaseException], None] | None,
    ) -> Decision:
        """:meth:`eligibility` with what a caller checking many services works out once."""
        decision = rule_decision(service, customer, manager_name)
        if not decision.eligible or not hooks:
            return decision
        for plugin, d in self.host.check_eligibility(self, customer, service, on_error or self._on_error(None)):
            if not d.eligible:
                return Decision(False, d.reason or f"{service.name} is not available to you.", d.next_step, plugin)
        return decision

    def _manager_name(self, manager_id: str) -> str | None:
        m = self.directory.get_customer(manager_id)
        return m.name.split()[0] if m else None

    # ------------------------------------------------------------------ intake

    def submit(
        self,
        kind: DemandKind | str | None,
        customer: str | Customer,
        summary: str,
        *,
        service: str | None = None,
        details: str = "",
        answers: Mapping[str, Any] | None = None,
        channel: str = "cli",
        actor: str = Actor.CUSTOMER,
        external_ref: str | None = None,
        priority: Priority | int | None = None,
        caused_by: int | None = None,
        cause: str | None = None,
        effort: int | None = None,
        announcement_id: int | None = None,
        discovery: str | None = None,
    ) -> Receipt:
        """Take in a demand of any kind; write it, its first events and its jobs at once.

        Raises UnknownCustomer, UnknownService, IneligibleCustomer or InvalidAnswers
        before anything is written. An ``external_ref`` seen before (an email's
        Message-ID) returns the existing demand with ``duplicate=True``. ``discovery``
        says how the customer found the service (e.g. a search), recorded as the
        journey's discover stage.
        """
        if external_ref is not None:
            existing = self._by_external_ref(external_ref)
            if existing is not None:
                return Receipt(demand=existing, acknowledgement=self._ack_text(existing, None), duplicate=True)
        cust = customer if isinstance(customer, Customer) else self.get_customer(customer)
        summary = (summary or "").strip()
        svc = self.get_service(service) if service else None
        kind_v = DemandKind(kind) if kind else None
        if kind_v is None and svc is not None:
            kind_v = svc.kind
        intake = Intake(
            kind=kind_v, customer=cust, summary=summary, details=details, channel=channel, service_key=service
        )
        team = None
        prio = Priority(priority) if priority is not None else None
        classified = self.host.classify(self, intake, self._on_error(None))
        if classified is not None:
            _plugin, cl = classified
            if cl.kind is not None and kind_v is None:
                kind_v = DemandKind(cl.kind)
            if cl.service_key and svc is None and cl.service_key in self._services:
                svc = self._services[cl.service_key]
            if cl.priority is not None and prio is None:
                prio = Priority(cl.priority)
            team = cl.team
        kind_v = kind_v or DemandKind.FAILURE
        if not summary:
            summary = svc.name if svc else ""
        if not summary:
            raise InvalidAnswers({"summary": "Please say in a few words what you need."})

        clean: dict[str, str] = {}
        if kind_v == DemandKind.VALUE and svc is not None:
            decision = self.eligibility(cust, svc)
            if not decision.eligible:
                raise IneligibleCustomer(cust.id, svc.key, decision.reason, decision.next_step)
            clean = validate_answers(svc, answers or {}, cust, self.configuration_items(cust.id))
        elif answers:
            clean = {k: str(v) for k, v in answers.items()}

        now = self.clock()
        typed = len(clean) if effort is None else effort
        outage = None
        if kind_v == DemandKind.FAILURE and svc is not None:
            from .announcements import get as get_announcement
            from .announcements import open_for_service

            outage = (
                get_announcement(self, announcement_id)
                if announcement_id is not None
                else open_for_service(self, svc.key)
            )
            if outage is not None and outage.state == "open":
                announcement_id = outage.id
                cause = cause or "announced_outage"
            else:
                outage = None
        # A request with a fulfilment plan goes straight into fulfilment, in the same row.
        fulfils = kind_v == DemandKind.VALUE and svc is not None and bool(svc.plan)
        with self.engine.begin() as conn:
            try:
                row = {
                    "kind": str(kind_v),
                    "state": str(DemandState.IN_FULFILMENT if fulfils else DemandState.NEW),
                    "stage": str(Stage.FULFIL if fulfils else Stage.ACKNOWLEDGE),
                    "customer_id": cust.id,
                    "customer_role": cust.role,
                    "customer_department": cust.department,
                    "service_key": svc.key if svc else None,
                    "channel": channel,
                    "summary": summary,
                    "details": details,
                    "answers": clean,
                    "outputs": {},
                    "priority": int(prio or Priority.MEDIUM),
                    "team": team,
                    "external_ref": external_ref,
                    "caused_by": caused_by,
                    "cause": cause,
                    "announcement_id": announcement_id,
                    "self_service": False,
                    "created_at": now,
                    "updated_at": now,
                }
                demand_id = conn.execute(_INSERT_DEMAND, row).inserted_primary_key[0]  # type: ignore[index]
            except IntegrityError:
                if external_ref is None:
                    raise
                conn.rollback()
                existing = self._by_external_ref(external_ref)
                assert existing is not None
                return Receipt(demand=existing, acknowledgement=self._ack_text(existing, None), duplicate=True)
            what = {DemandKind.VALUE: "request", DemandKind.FAILURE: "problem", DemandKind.INFORMATION: "question"}[
                kind_v
            ]
            events = []
            if discovery:
                events.append(
                    {
                        "demand_id": demand_id,
                        "stage": str(Stage.DISCOVER),
                        "channel": channel,
                        "actor": str(actor),
                        "kind": "discovered",
                        "customer_sees": f"You found {svc.name if svc else 'us'}.",
                        "behind_scenes": discovery,
                        "effort": 1,
                        "at": now,
                    }
                )
            events += [
                {
                    "demand_id": demand_id,
                    "stage": str(Stage.ENGAGE),
                    "channel": channel,
                    "actor": str(actor),
                    "kind": "submitted",
                    "customer_sees": f"You told us: {summary}",
                    "behind_scenes": f"{kind_v} demand received through {channel}"
                    + (f" for service {svc.key}" if svc else "")
                    + (f"; classified by {classified[0]}" if classified else ""),
                    "effort": max(1, typed),
                    "at": now,
                },
                {
                    "demand_id": demand_id,
                    "stage": str(Stage.ACKNOWLEDGE),
                    "channel": channel,
                    "actor": str(Actor.SYSTEM),
                    "kind": "acknowledged",
                    "customer_sees": f"We have your {what} (#{demand_id}).",
                    "behind_scenes": f"demand {demand_id} written with state new, priority {int(prio or 3)}",
                    "effort": 0,
                    "at": now,
                },
            ]
            if outage is not None:
                from .announcements import mark_affected

                mark_affected(conn, self, outage.id, cust.id, now)
                workaround = f" Meanwhile: {outage.workaround}" if outage.workaround else ""
                events.append(
                    {
                        "demand_id": demand_id,
                        "stage": str(Stage.ACKNOWLEDGE),
                        "channel": channel,
                        "actor": str(Actor.SYSTEM),
                        "kind": "linked",
                        "customer_sees": f"We know about this: {outage.title}.{workaround} We will tell you when it is fixed.",
                        "behind_scenes": f"linked to announcement {outage.id}; customer added to its affected list",
                        "effort": 0,
                        "at": now,
                    }
                )
            # Ids come back only when someone will see them: RETURNING costs a second pass per row.
            event_hooks = self.host.implemented("itsm_event_recorded") or self.host.implemented("itsm_stage_entered")
            event_ids: Sequence[int] = ()
            if event_hooks:
                event_ids = conn.execute(_INSERT_EVENTS_IDS, events).scalars().all()
            else:
                conn.execute(_INSERT_EVENTS, events)
            ack = self._ack_text_parts(demand_id, kind_v, svc)
            if outage is not None:
                ack += f" We know about this: {outage.title}." + (
                    f" Meanwhile: {outage.workaround}" if outage.workaround else ""
                )
            jobs = [
                self._notify_row(
                    demand_id,
                    purpose="acknowledgement",
                    subject=f"We have your {what} #{demand_id}: {summary}",
                    body=ack,
                    now=now,
                    key=f"{self.name}:demand:{demand_id}:acknowledgement",
                )
            ]
            if fulfils:
                assert svc is not None
                jobs.append(self._step_row(demand_id, svc, 0, now))
            deferred = isinstance(self._runner, DeferredRunner)
            job_ids: list[int] = []
            if deferred:  # nobody is woken, so the ids are not needed
                conn.execute(_INSERT_JOBS, jobs)
            else:
                job_ids = list(conn.execute(_INSERT_JOBS_IDS, jobs).scalars())
        # from here on every line logged (hooks, inline jobs) names the new demand
        with log_context(demand_id=demand_id):
            # built from what was just written: no second read on the intake path
            demand = _demand(_RowView(row, id=demand_id, waiting_for=None, resolved_at=None))
            on_error = self._on_error(demand_id)
            self.host.demand_received(self, demand, on_error)
            if outage is not None:
                self.host.customer_affected(self, outage, cust, on_error)
            if event_hooks:
                previous_stage = None
                for ev_id, ev_row in zip(event_ids, events, strict=True):
                    ev = _event(_RowView(ev_row, id=ev_id))
                    self.host.event_recorded(self, demand, ev, on_error)
                    if ev.stage != previous_stage:
                        self.host.stage_entered(self, demand, ev, on_error)
                    previous_stage = ev.stage
            if kind_v == DemandKind.INFORMATION:
                self._try_answer(demand)
            if job_ids:
                self._wake(job_ids)
                demand = self.get(demand_id)
            elif kind_v == DemandKind.INFORMATION:
                demand = self.get(demand_id)
            ack = self._ack_text(demand, svc)
            links = svc.quick_start if svc else ()
            if outage is not None:
                ack += f" We know about this: {outage.title}." + (
                    f" Meanwhile: {outage.workaround}" if outage.workaround else ""
                )
                links = tuple(outage.workaround_links) + tuple(links)
            return Receipt(demand=demand, acknowledgement=ack, links=links)

    def _ack_text_parts(self, demand_id: int, kind: DemandKind, svc: Service | None) -> str:
        if kind == DemandKind.VALUE and svc is not None:
            when = f" It usually takes {svc.expected}." if svc.expected else ""
            nxt = " We are setting it up now." if svc.plan else " Someone from IT will pick it up."
            return f"Thanks, we have your request for {svc.name} (#{demand_id}).{nxt}{when}"
        if kind == DemandKind.FAILURE:
            return f"Thanks, we have your report (#{demand_id}). We will keep you posted until it is fixed."
        if kind == DemandKind.INFORMATION:
            return f"Thanks, we have your question (#{demand_id})."
        return f"Thanks, we have your request (#{demand_id})."

    def _ack_text(self, demand: Demand, svc: Service | None) -> str:
        return self._ack_text_parts(demand.id, demand.kind, svc or self._services.get(demand.service_key or ""))

    def _by_external_ref(self, ref: str) -> Demand | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.demands).where(t.demands.c.external_ref == ref)).first()
        return _demand(row) if row else None

    def find_by_external_ref(self, ref: str) -> Demand | None:
        """The demand taken in with this external reference (e.g. an email Message-ID)."""
        return self._by_external_ref(ref)

    def _try_answer(self, demand: Demand) -> None:
        answered = self.host.answer_query(self, demand, self._on_error(demand.id))
        if answered is None:
            self.record_event(
                demand.id,
                stage=Stage.FULFIL,
                actor=Actor.SYSTEM,
                customer_sees="Someone from IT will answer you.",
                behind_scenes="no self-service answer found; routed to the service desk",
                kind="routed",
            )
            self.transition(demand.id, DemandState.IN_PROGRESS, actor=Actor.SYSTEM, stage=Stage.FULFIL)
            return
        plugin, answer = answered
        links = "".join(f"\n{link.title}: {link.url}" for link in answer.links)
        # An answer about an earlier demand means the customer was chasing it (failure
        # demand); any other answer means they could not find it themselves.
        cause = "chase" if answer.about is not None else "cant_find"
        with self.engine.begin() as conn:
            conn.execute(
                update(t.demands)
                .where(t.demands.c.id == demand.id)
                .values(self_service=True, cause=cause, caused_by=answer.about)
            )
        self.transition(
            demand.id,
            DemandState.ANSWERED,
            actor=plugin,
            stage=Stage.OUTCOME,
            customer_sees=answer.text + links,
            behind_scenes=f"answered by self-service ({answer.source or plugin})",
        )

    def suggest_answer(self, customer: str | Customer, text: str) -> Answer | None:
        """A self-service answer to a question before it is asked (nothing is stored).

        Portals call this as the customer types, to offer knowledge before a demand is
        written; a plugin that fails here is logged and skipped.
        """
        cust = customer if isinstance(customer, Customer) else self.get_customer(customer)
        now = self.clock()
        draft = Demand(
            id=0,
            kind=DemandKind.INFORMATION,
            customer_id=cust.id,
            summary=text.strip(),
            channel="preview",
            created_at=now,
            updated_at=now,
        )

        def skip(plugin: str, hook: str, exc: BaseException) -> None:
            log.warning("plugin %s failed in %s while suggesting an answer: %s", plugin, hook, exc)

        found = self.host.answer_query(self, draft, skip)
        return found[1] if found is not None else None

    # ------------------------------------------------------------------ announcements

    def open_announcement(
        self,
        service: str,
        title: str,
        *,
        description: str = "",
        workaround: str = "",
        links: Iterable[Link] = (),
        estimate: str = "",
        source: str = "agent",
    ) -> Announcement:
        """Tell a service's subscribers what is wrong, the workaround and an estimate (in batches, as jobs)."""
        from . import announcements

        return announcements.open_announcement(
            self,
            service,
            title,
            description=description,
            workaround=workaround,
            links=links,
            estimate=estimate,
            source=source,
        )

    def update_announcement(self, announcement_id: int, **changes: Any) -> Announcement:
        """Change an open announcement's description, workaround, links or estimate, and tell everyone concerned."""
        from . import announcements

        return announcements.update_announcement(self, announcement_id, **changes)

    def resolve_announcement(self, announcement_id: int, resolution: str) -> Announcement:
        """Announce the fix; affected customers get a signed link to confirm it (or say it is still broken)."""
        from . import announcements

        return announcements.resolve_announcement(self, announcement_id, resolution)

    def affects_me(self, announcement_id: int, customer: str, channel: str = "portal") -> int:
        """ "This affects me": join the affected list; returns the customer's linked incident."""
        from . import announcements

        return announcements.affects_me(self, announcement_id, customer, channel)

    def confirm(self, token: str, fixed: bool, *, customer: str | None = None) -> int:
        """The answer behind a confirm link; returns the customer's demand id."""
        from . import announcements

        return announcements.confirm(self, token, fixed, customer_id=customer)

    @_about_demand
    def confirm_demand(self, demand_id: int, customer: str, fixed: bool, *, channel: str = "portal") -> int:
        """A signed-in customer's answer to "is it sorted?" for their own finished demand.

        For a demand linked to an announcement this is the same as its confirm link
        (the ledger is updated); otherwise "yes" closes the demand and asks for
        feedback, "no" reopens it. Returns the id of the demand that carries on.
        """
        from . import announcements

        demand = self.get(demand_id)
        if demand.customer_id != customer:
            raise NotFound(f"unknown demand {demand_id}")
        if demand.announcement_id is not None:
            return announcements.confirm_for(self, demand.announcement_id, customer, fixed, channel=channel)
        finished = {
            DemandKind.VALUE: DemandState.FULFILLED,
            DemandKind.FAILURE: DemandState.RESOLVED,
            DemandKind.INFORMATION: DemandState.ANSWERED,
        }[demand.kind]
        if demand.state != finished:
            raise IllegalTransition(demand_id, demand.kind, demand.state, DemandState.CLOSED)
        if fixed:
            self.transition(
                demand_id,
                DemandState.CLOSED,
                actor=Actor.CUSTOMER,
                channel=channel,
                stage=Stage.CONFIRM,
                customer_sees="You confirmed it is sorted. Thank you!",
                behind_scenes="customer confirmed the outcome",
            )
            self.ask_for_feedback(demand_id)
            return demand_id
        again = {
            DemandKind.VALUE: DemandState.IN_FULFILMENT,
            DemandKind.FAILURE: DemandState.IN_PROGRESS,
            DemandKind.INFORMATION: DemandState.IN_PROGRESS,
        }[demand.kind]
        self.transition(
            demand_id,
            again,
            actor=Actor.CUSTOMER,
            channel=channel,
            stage=Stage.FULFIL,
            customer_sees="You told us it is not sorted yet. We have reopened it and are on it.",
            behind_scenes="customer says the outcome is not right; reopened",
        )
        return demand_id

    def announcements_for(self, customer: str) -> list[Announcement]:
        """Open announcements about the services this customer subscribes to or uses (their CIs)."""
        from . import announcements

        cust = self.get_customer(customer)
        mine = {ci.attributes.get("service") for ci in self.configuration_items(cust.id)}
        with self.engine.connect() as conn:
            mine |= set(
                conn.execute(
                    select(t.subscriptions.c.service_key).where(
                        t.subscriptions.c.customer_id == cust.id, t.subscriptions.c.active.is_(True)
                    )
                ).scalars()
            )
            mine |= set(
                conn.execute(
                    select(t.demands.c.service_key)
                    .where(t.demands.c.customer_id == cust.id, t.demands.c.service_key.is_not(None))
                    .distinct()
                ).scalars()
            )
        return [a for a in announcements.listing(self, open_only=True) if a.service_key in mine]

    def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers (for health checks)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
        except Exception as e:
            raise StoreUnavailable(f"the database does not answer: {type(e).__name__}: {e}") from e

    def prefill(self, service: str | Service, customer: str | Customer) -> dict[str, str]:
        """What the directory and CMDB already know for each of the service's asks."""
        from .asks import prefill

        svc = service if isinstance(service, Service) else self.get_service(service)
        cust = customer if isinstance(customer, Customer) else self.get_customer(customer)
        items = self.configuration_items(cust.id)
        out = {}
        for ask in svc.asks:
            value = prefill(ask, cust, items)
            if value is not None:
                out[ask.name] = value
        return out

    def announcement(self, announcement_id: int) -> Announcement:
        from . import announcements

        return announcements.get(self, announcement_id)

    def announcements(self, *, open_only: bool = False, service: str | None = None) -> list[Announcement]:
        from . import announcements

        return announcements.listing(self, open_only=open_only, service=service)

    def ledger(self, announcement_id: int) -> Any:
        """Notified, affected, confirmed fixed, still broken, no answer: the service desk's view."""
        from . import announcements

        return announcements.ledger(self, announcement_id)

    def subscribe(self, customer: str, service: str) -> None:
        from . import announcements

        announcements.subscribe(self, customer, service)

    def unsubscribe(self, customer: str, service: str) -> None:
        from . import announcements

        announcements.unsubscribe(self, customer, service)

    def subscribers(self, service: str) -> list[str]:
        from . import announcements

        announcements.sync_derived(self, service)
        return announcements.subscribers(self, service)

    def _is_affected(self, announcement_id: int, customer_id: str) -> bool:
        with self.engine.connect() as conn:
            return bool(
                conn.execute(
                    select(t.announcement_customers.c.affected).where(
                        t.announcement_customers.c.announcement_id == announcement_id,
                        t.announcement_customers.c.customer_id == customer_id,
                    )
                ).scalar()
            )

    # ------------------------------------------------------------------ surveys

    def survey_method(self) -> tuple[str, SurveyMethod]:
        """The deployment's transactional survey method: its name and the method itself."""
        name = self.config.survey_rules.method
        return name, self.deployment.surveys()[name]

    def survey_link(self, demand_id: int, customer_id: str) -> str:
        from .links import sign

        ttl = timedelta(days=self.config.survey_rules.link_days)
        token = sign(self.secret(), "survey", demand_id, customer_id, self.clock(), ttl)
        return f"{self.config.deployment.public_url.rstrip('/')}/survey/{token}"

    def survey_allowed(self, customer_id: str, demand: Demand | None = None) -> tuple[bool, str]:
        """Survey governance: one survey per period, none while still affected by an outage, none after self-help."""
        rules = self.config.survey_rules
        now = self.clock()
        with self.engine.connect() as conn:
            recent = conn.execute(
                select(func.count())
                .select_from(t.messages)
                .where(
                    t.messages.c.customer_id == customer_id,
                    t.messages.c.purpose == "survey",
                    t.messages.c.at > now - timedelta(days=rules.period_days),
                )
            ).scalar_one()
            if recent:
                return False, f"already surveyed in the last {rules.period_days:g} days"
            affected = conn.execute(
                select(func.count())
                .select_from(t.announcement_customers.join(t.announcements))
                .where(
                    t.announcement_customers.c.customer_id == customer_id,
                    t.announcement_customers.c.affected.is_(True),
                    t.announcements.c.state == "open",
                )
            ).scalar_one()
            if affected:
                return False, "still affected by an open outage"
            if demand is not None:
                self_served = conn.execute(select(t.demands.c.self_service).where(t.demands.c.id == demand.id)).scalar()
                if self_served:
                    return False, "the customer solved it themselves"
        if rules.sample < 1.0 and demand is not None:
            import hashlib

            h = int(hashlib.sha256(f"{self.name}:{demand.id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
            if h >= rules.sample:
                return False, f"not in the {rules.sample:.0%} sample"
        return True, ""

    @_about_demand
    def ask_for_feedback(self, demand_id: int) -> int | None:
        """After a confirmed outcome, send a transactional survey if the rules allow; returns the job id."""
        demand = self.get(demand_id)
        ok, why = self.survey_allowed(demand.customer_id, demand)
        if not ok:
            self.record_event(demand_id, behind_scenes=f"no survey: {why}", kind="survey_skipped")
            return None
        method = self.config.survey_rules.method
        question = getattr(self.deployment.surveys().get(method), "question", "How did we do?")
        with self.engine.begin() as conn:
            jid = self._enqueue_notify(
                conn,
                demand_id,
                purpose="survey",
                subject=f"#{demand_id}: how did we do?",
                body=question,
                now=self.clock(),
                survey=True,
                key=f"{self.name}:demand:{demand_id}:survey",
            )
        self._wake([jid])
        return jid

    def answer_survey(
        self,
        score: int,
        *,
        customer: str | None = None,
        method: str | None = None,
        comment: str = "",
        demand_id: int | None = None,
        token: str | None = None,
        channel: str = "portal",
        mode: str = "transactional",
    ) -> SurveyResponse:
        """Store a survey answer, validated against the method's scale (out of scale is refused, never counted)."""
        if token is not None:
            from .links import verify

            claim = verify(self.secret(), token.rsplit("/", 1)[-1], self.clock(), purpose="survey")
            customer, demand_id = claim.customer_id, claim.target
        if customer is None:
            raise InvalidAnswers({"customer": "who answered?"})
        cust = self.get_customer(customer)
        name = method or self.config.survey_rules.method
        methods = self.deployment.surveys()
        if name not in methods:
            raise InvalidAnswers({"method": f"unknown survey method {name!r}; {did_you_mean(name, methods)}"})
        m = methods[name]
        if isinstance(score, bool) or not isinstance(score, int) or not m.low <= score <= m.high:
            raise InvalidAnswers({"score": f"{name.upper()} answers are whole numbers from {m.low} to {m.high}"})
        demand = self.get(demand_id) if demand_id is not None else None
        if demand is not None and demand.customer_id != cust.id:
            raise NotFound(f"unknown demand {demand_id}")
        if mode not in ("transactional", "tracker"):
            raise InvalidAnswers({"mode": "transactional or tracker"})
        now = self.clock()
        with self.engine.begin() as conn:
            if demand is not None:
                dup = conn.execute(
                    select(t.survey_responses.c.id).where(
                        t.survey_responses.c.demand_id == demand.id, t.survey_responses.c.method == name
                    )
                ).scalar()
                if dup:
                    raise InvalidAnswers({"survey": "You have already answered this survey. Thank you!"})
            rid = conn.execute(
                insert(t.survey_responses).values(
                    method=name,
                    customer_id=cust.id,
                    score=score,
                    comment=comment[:4000],
                    demand_id=demand.id if demand else None,
                    service_key=demand.service_key if demand else None,
                    channel=channel,
                    mode=mode,
                    at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            if demand is not None:
                self._insert_event(
                    conn,
                    demand.id,
                    Stage.FEEDBACK,
                    channel,
                    str(Actor.CUSTOMER),
                    "Thank you for telling us how it went.",
                    f"{name} answer {score} ({m.category(score)})" + (f": {comment[:200]}" if comment else ""),
                    1,
                    "survey",
                    now,
                )
                conn.execute(update(t.demands).where(t.demands.c.id == demand.id).values(stage=str(Stage.FEEDBACK)))
        response = SurveyResponse(
            id=rid,
            method=name,
            customer_id=cust.id,
            score=score,
            comment=comment,
            demand_id=demand.id if demand else None,
            service_key=demand.service_key if demand else None,
            channel=channel,
            mode=mode,
            at=now,
        )
        self.host.survey_answered(self, response, self._on_error(demand.id if demand else None))
        return response

    # ------------------------------------------------------------------ reading

    def get(self, demand_id: int) -> Demand:
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT_DEMAND, {"b_id": demand_id}).first()
        if row is None:
            raise NotFound(f"unknown demand {demand_id}")
        return _demand(row)

    def journey(self, demand_id: int) -> list[JourneyEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.journey_events)
                .where(t.journey_events.c.demand_id == demand_id)
                .order_by(t.journey_events.c.id)
            ).all()
        return [_event(r) for r in rows]

    def show(self, demand_id: int) -> DemandView:
        """A demand with its journey, jobs, plugin failures and outputs."""
        demand = self.get(demand_id)
        with self.engine.connect() as conn:
            jobs = conn.execute(select(t.jobs).where(t.jobs.c.demand_id == demand_id).order_by(t.jobs.c.id)).all()
            errs = conn.execute(
                select(t.plugin_errors).where(t.plugin_errors.c.demand_id == demand_id).order_by(t.plugin_errors.c.id)
            ).all()
            outputs = conn.execute(select(t.demands.c.outputs).where(t.demands.c.id == demand_id)).scalar_one()
        return DemandView(
            demand=demand,
            journey=tuple(self.journey(demand_id)),
            jobs=tuple(_job(r) for r in jobs),
            failures=tuple(
                PluginFailure(plugin=r.plugin, hook=r.hook, error=r.error, at=_aware(r.at), demand_id=r.demand_id)  # type: ignore[arg-type]
                for r in errs
            ),
            outputs=outputs or {},
        )

    def list_demands(
        self,
        *,
        customer: str | None = None,
        kind: DemandKind | str | None = None,
        state: DemandState | str | None = None,
        service: str | None = None,
        open_only: bool = False,
        limit: int = 100,
    ) -> list[Demand]:
        """Newest first."""
        q = select(t.demands).order_by(t.demands.c.id.desc()).limit(limit)
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
        with self.engine.connect() as conn:
            return [_demand(r) for r in conn.execute(q)]

    def plugin_failures(self, demand_id: int | None = None) -> list[PluginFailure]:
        q = select(t.plugin_errors).order_by(t.plugin_errors.c.id)
        if demand_id is not None:
            q = q.where(t.plugin_errors.c.demand_id == demand_id)
        with self.engine.connect() as conn:
            return [
                PluginFailure(plugin=r.plugin, hook=r.hook, error=r.error, at=_aware(r.at), demand_id=r.demand_id)  # type: ignore[arg-type]
                for r in conn.execute(q)
            ]

    # ------------------------------------------------------------------ moving a demand

    def record_event(
        self,
        demand_id: int,
        *,
        stage: Stage | str | None = None,
        channel: str | None = None,
        actor: str = Actor.SYSTEM,
        customer_sees: str = "",
        behind_scenes: str = "",
        effort: int = 0,
        kind: str = "note",
        external_ref: str | None = None,
    ) -> JourneyEvent:
        """Add an event to a demand's journey; a new ``stage`` moves the demand there.

        ``external_ref`` (e.g. an email reply's Message-ID) makes the call idempotent across
        processes: when an event already carries it, nothing is recorded, no hook fires and
        that event is returned, so two pollers taking in the same message record it once.
        """
        return self.record_event_once(
            demand_id,
            stage=stage,
            channel=channel,
            actor=actor,
            customer_sees=customer_sees,
            behind_scenes=behind_scenes,
            effort=effort,
            kind=kind,
            external_ref=external_ref,
        )[0]

    def record_event_once(
        self,
        demand_id: int,
        *,
        stage: Stage | str | None = None,
        channel: str | None = None,
        actor: str = Actor.SYSTEM,
        customer_sees: str = "",
        behind_scenes: str = "",
        effort: int = 0,
        kind: str = "note",
        external_ref: str | None = None,
    ) -> tuple[JourneyEvent, bool]:
        """:meth:`record_event`, also saying whether this call recorded the event.

        ``False`` means an event with the same ``external_ref`` was there already (possibly
        written a moment ago by another process) and is returned instead: a caller that
        acts after recording (tells someone, keeps files) must then do nothing more.
        """
        with log_context(demand_id=demand_id):
            if external_ref is not None:
                existing = self.find_event_by_external_ref(external_ref)
                if existing is not None:
                    return existing, False
            demand = self.get(demand_id)
            st = Stage(stage) if stage else demand.stage
            now = self.clock()
            with self.engine.begin() as conn:
                try:
                    ev = self._insert_event(
                        conn,
                        demand_id,
                        st,
                        channel or demand.channel,
                        actor,
                        customer_sees,
                        behind_scenes,
                        effort,
                        kind,
                        now,
                        external_ref=external_ref,
                    )
                except IntegrityError:
                    # Lost a race on the unique external_ref: the other process's event stands.
                    if external_ref is None:
                        raise
                    conn.rollback()
                    existing = self.find_event_by_external_ref(external_ref)
                    if existing is None:
                        raise
                    return existing, False
                conn.execute(update(t.demands).where(t.demands.c.id == demand_id).values(stage=str(st), updated_at=now))
            previous = demand.stage
            demand = attrs.evolve(demand, stage=st, updated_at=now)
            on_error = self._on_error(demand_id)
            self.host.event_recorded(self, demand, ev, on_error)
            if st != previous:
                self.host.stage_entered(self, demand, ev, on_error)
            return ev, True

    def find_event_by_external_ref(self, ref: str) -> JourneyEvent | None:
        """The journey event recorded with this external reference, on any demand (one index lookup)."""
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT_EVENT_BY_REF, {"b_ref": ref}).first()
        return _event(row) if row else None

    def advance(self, demand_id: int, stage: Stage | str, **kwargs: Any) -> JourneyEvent:
        """Move a demand's journey to ``stage`` with an event saying what happened."""
        return self.record_event(demand_id, stage=stage, **kwargs)

    def comment(
        self,
        demand_id: int,
        text: str,
        *,
        actor: str = Actor.CUSTOMER,
        channel: str | None = None,
        external_ref: str | None = None,
    ) -> JourneyEvent:
        """A comment from the customer or an agent, shown to the customer.

        With ``external_ref`` the same comment taken in twice is recorded once (see :meth:`record_event`).
        """
        return self.record_event(
            demand_id,
            actor=actor,
            channel=channel,
            customer_sees=text,
            kind="comment",
            effort=1 if actor == "customer" else 0,
            external_ref=external_ref,
        )

    def _insert_event(
        self,
        conn: Connection,
        demand_id: int,
        stage: Stage,
        channel: str,
        actor: str,
        customer_sees: str,
        behind_scenes: str,
        effort: int,
        kind: str,
        now: datetime,
        external_ref: str | None = None,
    ) -> JourneyEvent:
        eid = conn.execute(
            _INSERT_EVENT,
            {
                "demand_id": demand_id,
                "stage": str(stage),
                "channel": channel,
                "actor": str(actor),
                "kind": kind,
                "customer_sees": customer_sees,
                "behind_scenes": behind_scenes,
                "effort": effort,
                "at": now,
                "external_ref": external_ref,
            },
        ).inserted_primary_key[0]  # type: ignore[index]
        return JourneyEvent(
            id=eid,
            demand_id=demand_id,
            stage=stage,
            channel=channel,
            actor=str(actor),
            customer_sees=customer_sees,
            behind_scenes=behind_scenes,
            effort=effort,
            at=now,
            kind=kind,
            external_ref=external_ref,
        )

    def _set_state(
        self,
        conn: Connection,
        demand_id: int,
        state: DemandState,
        now: datetime,
        *,
        stage: Stage | None = None,
        waiting_for: str | _Keep | None = _KEEP,
    ) -> None:
        values: dict[str, Any] = {"state": str(state), "updated_at": now}
        if stage is not None:
            values["stage"] = str(stage)
        if state in (DemandState.FULFILLED, DemandState.RESOLVED, DemandState.ANSWERED, DemandState.REJECTED):
            values["resolved_at"] = now
        if not isinstance(waiting_for, _Keep):
            values["waiting_for"] = waiting_for
        conn.execute(update(t.demands).where(t.demands.c.id == demand_id).values(**values))

    def transition(
        self,
        demand_id: int,
        state: DemandState | str,
        *,
        actor: str = Actor.AGENT,
        channel: str | None = None,
        stage: Stage | str | None = None,
        customer_sees: str = "",
        behind_scenes: str = "",
    ) -> Demand:
        """Move a demand along its lifecycle; raises IllegalTransition naming the allowed states."""
        with log_context(demand_id=demand_id):
            demand = self.get(demand_id)
            target = DemandState(state)
            check_transition(demand.kind, demand.state, target, demand.id)
            st = Stage(stage) if stage else _stage_for(target, demand.stage)
            now = self.clock()
            with self.engine.begin() as conn:
                self._set_state(conn, demand_id, target, now, stage=st, waiting_for=None)
                ev = self._insert_event(
                    conn,
                    demand_id,
                    st,
                    channel or demand.channel,
                    actor,
                    customer_sees or _state_words(demand, target),
                    behind_scenes or f"state {demand.state} -> {target} by {actor}",
                    0,
                    "state",
                    now,
                )
            new = self.get(demand_id)
            on_error = self._on_error(demand_id)
            self.host.demand_state_changed(self, new, demand.state, on_error)
            self.host.event_recorded(self, new, ev, on_error)
            if st != demand.stage:
                self.host.stage_entered(self, new, ev, on_error)
            return new

    def resolve(self, demand_id: int, resolution: str, *, actor: str = Actor.AGENT) -> Demand:
        """Mark an incident resolved (or a request fulfilled, a query answered) and tell the customer."""
        with log_context(demand_id=demand_id):
            demand = self.get(demand_id)
            target = {
                DemandKind.FAILURE: DemandState.RESOLVED,
                DemandKind.VALUE: DemandState.FULFILLED,
                DemandKind.INFORMATION: DemandState.ANSWERED,
            }[demand.kind]
            new = self.transition(demand_id, target, actor=actor, stage=Stage.OUTCOME, customer_sees=resolution)
            with self.engine.begin() as conn:
                jid = self._enqueue_notify(
                    conn,
                    demand_id,
                    purpose="outcome",
                    subject=f"#{demand_id}: {demand.summary}",
                    body=resolution,
                    now=self.clock(),
                )
            self._wake([jid])
            return new

    # ------------------------------------------------------------------ approvals

    @_about_demand
    def approve(self, demand_id: int, approver: str, note: str = "") -> Demand:
        """An approver says yes: the plan carries on from the step after the approval."""
        demand = self.get(demand_id)
        self._check_approver(demand, approver)
        job = self._waiting_job(demand_id)
        now = self.clock()
        who = self._display(approver)
        with self.engine.begin() as conn:
            self._set_state(conn, demand_id, DemandState.IN_FULFILMENT, now, stage=Stage.FULFIL, waiting_for=None)
            self._insert_event(
                conn,
                demand_id,
                Stage.FULFIL,
                demand.channel,
                str(Actor.AGENT),
                f"{who} approved your request." + (f" {note}" if note else ""),
                f"approved by {approver}",
                0,
                "approved",
                now,
            )
            ids = self._after_step(conn, demand, job.step if job else -1, now)
        self.host.demand_state_changed(self, self.get(demand_id), demand.state, self._on_error(demand_id))
        self._wake(ids)
        return self.get(demand_id)

    @_about_demand
    def reject(self, demand_id: int, approver: str, reason: str) -> Demand:
        """An approver says no, with a reason the customer is told."""
        demand = self.get(demand_id)
        self._check_approver(demand, approver)
        who = self._display(approver)
        new = self.transition(
            demand_id,
            DemandState.REJECTED,
            actor=Actor.AGENT,
            stage=Stage.OUTCOME,
            customer_sees=f"{who} did not approve your request: {reason}",
            behind_scenes=f"rejected by {approver}",
        )
        with self.engine.begin() as conn:
            jid = self._enqueue_notify(
                conn,
                demand_id,
                purpose="outcome",
                subject=f"#{demand_id}: not approved",
                body=f"{who} did not approve your request for {demand.summary}: {reason}",
                now=self.clock(),
            )
        self._wake([jid])
        return new

    def _display(self, customer_id: str) -> str:
        c = self.directory.get_customer(customer_id)
        return c.name if c else customer_id

    def _check_approver(self, demand: Demand, approver: str) -> None:
        if demand.state != DemandState.AWAITING_APPROVAL:
            raise InvalidAnswers({"approval": f"demand {demand.id} is {demand.state}, not awaiting approval"})
        job = self._waiting_job(demand.id)
        expected = (job.result or {}).get("approver") if job else None
        if expected and approver != expected:
            raise InvalidAnswers({"approval": f"demand {demand.id} waits for {expected}, not {approver}"})

    def _waiting_job(self, demand_id: int) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.jobs)
                .where(t.jobs.c.demand_id == demand_id, t.jobs.c.state == "done", t.jobs.c.step >= 0)
                .order_by(t.jobs.c.step.desc())
                .limit(1)
            ).first()
        return _job(row) if row else None

    # ------------------------------------------------------------------ jobs

    def _step_row(self, demand_id: int, svc: Service, step: int, now: datetime) -> dict[str, Any]:
        ps = svc.plan[step]
        return {
            "demand_id": demand_id,
            "customer_id": None,
            "announcement_id": None,
            "action": ps.action,
            "step": step,
            "params": dict(ps.params),
            "key": f"{self.name}:demand:{demand_id}:step:{step}:{ps.action}",
            "state": "pending",
            "attempts": 0,
            "max_attempts": 5,
            "run_after": now,
            "created_at": now,
        }

    def _enqueue_step(self, conn: Connection, demand_id: int, svc: Service, step: int, now: datetime) -> int:
        return _insert_job(conn, self._step_row(demand_id, svc, step, now))

    def _notify_row(
        self,
        demand_id: int | None,
        *,
        purpose: str,
        subject: str,
        body: str,
        now: datetime,
        customer_id: str | None = None,
        links: Iterable[Link] = (),
        channel: str | None = None,
        key: str | None = None,
        confirm_announcement: int | None = None,
        survey: bool = False,
    ) -> dict[str, Any]:
        params = {
            "purpose": purpose,
            "subject": subject,
            "text": body,
            "links": [{"title": link.title, "url": link.url} for link in links],
            "channel": channel or "",
            "confirm": confirm_announcement is not None,
            "survey": survey,
        }
        return {
            "demand_id": demand_id,
            "customer_id": customer_id,
            "announcement_id": confirm_announcement,
            "action": "notify",
            "step": -1,
            "params": params,
            "key": key or f"{self.name}:notify:{demand_id}:{purpose}:{secrets.token_hex(8)}",
            "state": "pending",
            "attempts": 0,
            "max_attempts": 5,
            "run_after": now,
            "created_at": now,
        }

    def _enqueue_notify(self, conn: Connection, demand_id: int | None, **kwargs: Any) -> int:
        return _insert_job(conn, self._notify_row(demand_id, **kwargs))

    def notify(
        self,
        customer: str,
        subject: str,
        text: str,
        *,
        demand_id: int | None = None,
        purpose: str = "notification",
        links: Iterable[Link] = (),
        channel: str | None = None,
    ) -> int:
        """Queue a message to a customer through their preferred channel; returns the job id."""
        with self.engine.begin() as conn:
            jid = self._enqueue_notify(
                conn,
                demand_id,
                purpose=purpose,
                subject=subject,
                body=text,
                now=self.clock(),
                customer_id=customer,
                links=links,
                channel=channel,
            )
        self._wake([jid])
        return jid

    def _wake(self, job_ids: Sequence[int]) -> None:
        job_ids = [j for j in job_ids if j]  # 0: the job was queued already
        if job_ids:
            self._runner.wake(self, job_ids)

    def jobs(self, *, state: str | None = None, demand_id: int | None = None, limit: int = 100) -> list[Job]:
        q = select(t.jobs).order_by(t.jobs.c.id.desc()).limit(limit)
        if state:
            q = q.where(t.jobs.c.state == state)
        if demand_id is not None:
            q = q.where(t.jobs.c.demand_id == demand_id)
        with self.engine.connect() as conn:
            return [_job(r) for r in conn.execute(q)]

    def job(self, job_id: int) -> Job:
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT_JOB, {"b_id": job_id}).first()
        if row is None:
            raise NotFound(f"unknown job {job_id}")
        return _job(row)

    def job_stats(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {r[0]: r[1] for r in conn.execute(select(t.jobs.c.state, func.count()).group_by(t.jobs.c.state))}

    def retry_job(self, job_id: int) -> Job:
        """Give a dead job another go (``itsm jobs retry``); a stuck demand resumes."""
        job = self.job(job_id)
        if job.state != JobState.DEAD:
            raise InvalidAnswers({"job": f"job {job_id} is {job.state}; only dead jobs can be retried"})
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(
                update(t.jobs)
                .where(t.jobs.c.id == job_id)
                .values(state="pending", attempts=0, run_after=now, error=None, finished_at=None, lease_until=None)
            )
            if job.demand_id is not None:
                d = _demand(conn.execute(select(t.demands).where(t.demands.c.id == job.demand_id)).one())
                if d.state == DemandState.STUCK:
                    self._set_state(conn, d.id, DemandState.IN_FULFILMENT, now, waiting_for=None)
                    self._insert_event(
                        conn,
                        d.id,
                        Stage.FULFIL,
                        d.channel,
                        str(Actor.AGENT),
                        "We are trying again.",
                        f"job {job_id} ({job.action}) retried by an operator",
                        0,
                        "retry",
                        now,
                    )
        self._wake([job_id])
        return self.job(job_id)

    def claim(self, job_id: int, now: datetime | None = None) -> bool:
        """Claim a due job for this runner; only one claimer can win."""
        return self._claim(job_id, now) is not None

    def claim_job(self, job_id: int, now: datetime | None = None) -> Job | None:
        """Claim a due job by id and return it as claimed (attempt counted, lease set), or ``None`` if not won.

        What a worker handed ids by a broker calls: the claim's own ``RETURNING`` gives the
        job, so executing it (:meth:`execute_job` with the ``Job``) reads nothing again.
        """
        return self._claim(job_id, now)

    def _claim(self, job_id: int, now: datetime | None = None) -> Job | None:
        """Claim a due job and return it as claimed (one statement: UPDATE ... RETURNING)."""
        now = now or self.clock()
        with self.engine.begin() as conn:
            claimed = conn.execute(_CLAIM, {"b_id": job_id, "b_now": now, "b_lease": now + self._lease}).first()
            if claimed is not None:
                return _job(claimed)
            # a runner that died on its last attempt: the job is dead, visibly, not taken over forever
            conn.execute(_BURY, {"b_id": job_id, "b_now": now})
            return None

    def due_jobs(self, limit: int = 100) -> list[int]:
        """Ids of jobs due now, oldest first, without claiming them (what a sweep hands to workers)."""
        with self.engine.connect() as conn:
            return list(conn.execute(_DUE_JOBS, {"b_now": self.clock(), "b_limit": limit}).scalars())

    def claim_due(self, limit: int = 50, now: datetime | None = None) -> list[Job]:
        """Claim up to ``limit`` due jobs for this runner in one statement, oldest first; returns them as claimed.

        Claiming ids one at a time costs a round trip (on SQLite a write transaction) per
        job, and several runners reading the same due list race for the same first ids.
        Here one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`` gives each
        runner a disjoint batch on PostgreSQL without waiting on the others; SQLite has no
        row locks (the clause is not rendered) and is safe because its single writer runs
        the statement alone. Due means what :meth:`claim` takes: pending with ``run_after``
        passed, or running with an expired lease and attempts left. Jobs whose runner died
        during their last attempt are marked dead in the same transaction. Execute each
        job with :meth:`execute_job` before its ``lease_until``.
        """
        return [job for job, _ in self._claim_due(limit, now, with_demands=False)]

    def _claim_due(
        self, limit: int, now: datetime | None = None, *, with_demands: bool = True
    ) -> list[tuple[Job, Demand | _Keep | None]]:
        """Claim a batch; with ``with_demands``, also read the demands of its notify jobs in one SELECT.

        A notify job needs its demand (customer, thread, stage) before it sends; reading
        them with the claim saves a query per job. Other jobs read theirs when they run
        (``_KEEP`` says "not read").
        """
        if limit <= 0:
            return []
        now = now or self.clock()
        demands: dict[int, Demand] = {}
        with self.engine.begin() as conn:
            conn.execute(_BURY_DUE, {"b_now": now})
            rows = conn.execute(_CLAIM_DUE, {"b_now": now, "b_lease": now + self._lease, "b_limit": limit}).all()
            jobs = sorted(map(_job, rows), key=lambda j: (j.run_after, j.id))  # RETURNING keeps no order
            if with_demands:
                ids = {j.demand_id for j in jobs if j.action == "notify" and j.step < 0 and j.demand_id is not None}
                if ids:
                    demands = {r.id: _demand(r) for r in conn.execute(_SELECT_DEMANDS, {"b_ids": sorted(ids)})}
        claimed: list[tuple[Job, Demand | _Keep | None]] = []
        for job in jobs:
            demand: Demand | _Keep | None = _KEEP
            if with_demands and job.action == "notify" and job.step < 0:
                # a missing demand is left for _execute to fail the job over
                demand = None if job.demand_id is None else demands.get(job.demand_id, _KEEP)
            claimed.append((job, demand))
        return claimed

    def run_due_jobs(self, limit: int | None = None, *, batch: int = 50) -> int:
        """Run every job that is due now (jobs a job creates included); returns how many ran.

        Jobs are claimed ``batch`` at a time (:meth:`claim_due`), so several processes
        running this at once share the work without running a job twice. Lower ``batch``
        when jobs are slow: a batch is run in order by one process, and what it has not
        started when the lease ends is handed back unrun.
        """
        if self._running_jobs:  # a job that queues jobs: the outer loop picks them up
            return 0
        self._running_jobs = True
        ran = 0
        try:
            while limit is None or ran < limit:
                claimed = self._claim_due(batch if limit is None else min(batch, limit - ran))
                if not claimed:
                    break
                touched: set[int] = set()  # demands changed by this batch: their notify jobs re-read them
                for i, (job, demand) in enumerate(claimed):
                    if i and job.lease_until is not None and self.clock() >= job.lease_until:
                        self._release([j.id for j, _ in claimed[i:]], job.lease_until)
                        break
                    self._execute(job, _KEEP if job.demand_id in touched else demand)
                    ran += 1
                    if job.demand_id is not None:
                        touched.add(job.demand_id)
        finally:
            self._running_jobs = False
        return ran

    def _release(self, job_ids: Sequence[int], lease_until: datetime) -> None:
        """Hand back claimed jobs not started before their lease ended, their attempt uncounted (if still ours)."""
        with self.engine.begin() as conn:
            conn.execute(_RELEASE, {"b_ids": list(job_ids), "b_lease": lease_until})

    def execute_job(self, job: int | Job) -> Job:
        """Execute a job this runner has already claimed (see :meth:`claim_job`), and end it: done, retried, or dead.

        Give the ``Job`` the claim returned, or its id (then it is read first).
        """
        return self._execute(job if isinstance(job, Job) else self.job(job))

    def _execute(self, job: Job, demand: Demand | _Keep | None = _KEEP) -> Job:
        """Run a claimed job and end it; ``demand`` is its demand when the claim read it already.

        Every line logged meanwhile (by the desk, the action's plugin, a library) carries
        the job's id, its demand's id and its action.
        """
        with log_context(job_id=job.id, demand_id=job.demand_id, action=job.action):
            message: dict[str, Any] | None = None
            try:
                if job.action == "notify" and job.step < 0:
                    if isinstance(demand, _Keep):
                        demand = self.get(job.demand_id) if job.demand_id is not None else None
                    result, message = self._run_notify(job, demand)
                elif job.action in ("itsm.fanout", "itsm.follow_up"):
                    from . import announcements

                    (announcements.run_fanout if job.action == "itsm.fanout" else announcements.run_follow_up)(
                        self, job
                    )
                    result = ActionResult()
                else:
                    demand = None
                    result = self._run_action(job)
            except PermanentFailure as e:
                return self._job_failed(job, str(e), permanent=True)
            except TemporaryFailure as e:
                return self._job_failed(job, str(e), permanent=False, retry_after=e.retry_after)
            except Exception as e:  # an unexpected error may be transient: retry, then dead
                log.exception("job %s (%s) raised", job.id, job.action)
                return self._job_failed(job, f"{type(e).__name__}: {e}", permanent=False)
            return self._job_done(job, result, None if isinstance(demand, _Keep) else demand, message)

    def _action_component(self, name: str) -> ActionComponent:
        rec = self.deployment.action_record(name)
        if rec is None:
            raise PermanentFailure(f"no installed plugin provides the action {name!r}")
        return rec

    def _run_action(self, job: Job) -> ActionResult:
        rec = self._action_component(job.action)
        params: Any = CONVERTER.structure(dict(job.params), rec.params) if rec.params is not None else None
        action = self.deployment.action(job.action)
        if job.demand_id is None:
            raise PermanentFailure("fulfilment jobs need a demand")
        demand = self.get(job.demand_id)
        with self.engine.connect() as conn:
            outputs = conn.execute(select(t.demands.c.outputs).where(t.demands.c.id == demand.id)).scalar_one()
        request = ActionRequest(
            demand=demand,
            customer=self.get_customer(demand.customer_id),
            service=self._services.get(demand.service_key or ""),
            params=params,
            idempotency_key=job.key,
            attempt=job.attempts,
            outputs=outputs or {},
            desk=self,
        )
        return action.run(request)

    def _run_notify(self, job: Job, demand: Demand | None) -> tuple[ActionResult, dict[str, Any]]:
        """Send a notify job's message; the messages row is written when the job is marked done."""
        p = job.params
        customer = self.get_customer(job.customer_id or (demand.customer_id if demand else ""))
        links = tuple(Link(title=x["title"], url=x["url"]) for x in p.get("links", []))
        if p.get("confirm") and job.announcement_id is not None and self._is_affected(job.announcement_id, customer.id):
            from .announcements import confirm_link

            url = confirm_link(self, job.announcement_id, customer.id)
            links += (
                Link(title="Yes, it works again", url=f"{url}?fixed=yes"),
                Link(title="No, still broken", url=f"{url}?fixed=no"),
            )
        if p.get("survey") and demand is not None:
            links += (Link(title="Tell us how it went", url=self.survey_link(demand.id, customer.id)),)
        name, address, note, row = self._send(
            customer,
            subject=p.get("subject", ""),
            text=p.get("text", ""),
            links=links,
            channel=p.get("channel") or None,
            demand_id=job.demand_id,
            purpose=p.get("purpose", "notification"),
            key=job.key,
            job_id=job.id,
            thread_ref=demand.external_ref if demand is not None else None,
        )
        behind = f"{p.get('purpose', 'notification')} sent by {name} to {address}" + (f" ({note})" if note else "")
        return ActionResult(customer_sees=p.get("text", ""), behind_scenes=behind, links=links, channel=name), row

    def deliver(
        self,
        customer: Customer,
        *,
        subject: str,
        text: str,
        links: Sequence[Link] = (),
        channel: str | None = None,
        demand_id: int | None = None,
        purpose: str = "notification",
        key: str = "",
        job_id: int | None = None,
        thread_ref: str | _Keep | None = _KEEP,
    ) -> tuple[str, str, str]:
        """Send one message now and keep it in the store; returns (channel, address, fallback note).

        Jobs call this; other code should queue a message with :meth:`notify` so it is durable.
        """
        name, address, note, row = self._send(
            customer,
            subject=subject,
            text=text,
            links=links,
            channel=channel,
            demand_id=demand_id,
            purpose=purpose,
            key=key,
            job_id=job_id,
            thread_ref=thread_ref,
        )
        with self.engine.begin() as conn:
            conn.execute(_INSERT_MESSAGE, row)
        return name, address, note

    def _send(
        self,
        customer: Customer,
        *,
        subject: str,
        text: str,
        links: Sequence[Link],
        channel: str | None,
        demand_id: int | None,
        purpose: str,
        key: str,
        job_id: int | None,
        thread_ref: str | _Keep | None,
    ) -> tuple[str, str, str, dict[str, Any]]:
        """Send one message; returns (channel, address, note) and the messages row for the caller to write.

        Split from :meth:`deliver` so a notify job writes the row in the transaction that ends the job.
        """
        name, chan, address, note = self.channel_for(customer, channel)
        ref: str | None = None
        if not isinstance(thread_ref, _Keep):
            ref = thread_ref  # the caller knows the demand already
        elif demand_id is not None:
            with self.engine.connect() as conn:
                ref = conn.execute(_SELECT_EXTERNAL_REF, {"b_id": demand_id}).scalar_one_or_none()
        message = Message(
            recipient=customer,
            subject=subject,
            body=text,
            links=tuple(links),
            demand_id=demand_id,
            reply_token=f"#{demand_id}" if demand_id else None,
            purpose=purpose,
            idempotency_key=key,
            thread_ref=ref,
        )
        delivery = chan.send(message)
        row = {
            "fallback": bool(note),
            "demand_id": demand_id,
            "job_id": job_id,
            "channel": name,
            "customer_id": customer.id,
            "address": delivery.address or address or "",
            "purpose": purpose,
            "subject": subject,
            "body": text + "".join(f"\n{link.title}: {link.url}" for link in links),
            "reference": delivery.reference,
            "at": self.clock(),
        }
        return name, delivery.address or address or "", note, row

    def messages(
        self, *, customer: str | None = None, demand_id: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Messages sent (newest first): the portal inbox and the audit trail of notifications."""
        q = select(t.messages).order_by(t.messages.c.id.desc()).limit(limit)
        if customer:
            q = q.where(t.messages.c.customer_id == customer)
        if demand_id is not None:
            q = q.where(t.messages.c.demand_id == demand_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def channels(self) -> dict[str, Channel]:
        if self._channels is None:
            self._channels = self.deployment.channels()
        return self._channels

    def channel_for(self, customer: Customer, wanted: str | None = None) -> tuple[str, Channel, str | None, str]:
        """The channel to reach a customer: ``wanted``, else their preferences, else the default.

        Returns (name, channel, address, fallback note). The note is empty when the
        wanted or a preferred channel reached them; otherwise it says why the default
        channel (or, failing that, the ``log`` channel: the portal inbox) was used, and
        the message is counted as a fallback.
        """
        chans = self.channels()
        first = [wanted] if wanted else list(customer.preferred_channels)
        for name in first:
            if name in chans:
                addr = chans[name].address_for(customer)
                if addr:
                    return name, chans[name], addr, ""
        tried = ", ".join(first)
        default = self.config.deployment.default_channel
        for name in (default, "log"):
            if name in chans:
                addr = chans[name].address_for(customer)
                if addr:
                    note = (
                        f"{customer.id} cannot be reached by {tried}; sent by {name}"
                        + (" (the portal inbox)" if name == "log" else "")
                        if first
                        else ""
                    )
                    return name, chans[name], addr, note
        return "log", chans["log"], customer.id, f"{customer.id} has no reachable channel; kept in the portal inbox"

    def _job_done(
        self, job: Job, result: ActionResult, demand: Demand | None = None, message: dict[str, Any] | None = None
    ) -> Job:
        """End a job as done with its events and follow-ups, in one transaction with the message it sent."""
        now = self.clock()
        ids: list[int] = []
        if demand is None and job.demand_id is not None:
            demand = self.get(job.demand_id)
        rec = self.deployment.action_record(job.action)
        actor = rec.plugin if rec is not None and rec.plugin != "builtin" else str(Actor.SYSTEM)
        with self.engine.begin() as conn:
            if message is not None:  # sent already: kept even if our lease was lost meanwhile
                conn.execute(_INSERT_MESSAGE, message)
            stored = {
                "outputs": dict(result.outputs),
                "customer_sees": result.customer_sees,
                "wait_for": result.wait_for,
                **({"approver": result.outputs.get("approver")} if result.outputs.get("approver") else {}),
            }
            res = conn.execute(_JOB_DONE, {"b_id": job.id, "b_now": now, "b_result": stored})
            if res.rowcount != 1:  # our lease expired and someone else took it over
                return self.job(job.id)
            if demand is not None:
                if result.outputs:
                    current = conn.execute(_SELECT_OUTPUTS, {"b_id": demand.id}).scalar_one()
                    conn.execute(
                        update(t.demands)
                        .where(t.demands.c.id == demand.id)
                        .values(outputs={**(current or {}), **result.outputs}, updated_at=now)
                    )
                if result.customer_sees or result.behind_scenes:
                    channel = result.channel or demand.channel
                    self._insert_event(
                        conn,
                        demand.id,
                        demand.stage if job.step < 0 else Stage.FULFIL,
                        channel,
                        actor,
                        result.customer_sees,
                        result.behind_scenes,
                        0,
                        "notification" if job.step < 0 else "step",
                        now,
                    )
                if job.step >= 0:
                    if result.notify and result.customer_sees:
                        ids.append(
                            self._enqueue_notify(
                                conn,
                                demand.id,
                                purpose="progress",
                                subject=f"#{demand.id}: {demand.summary}",
                                body=result.customer_sees,
                                links=result.links,
                                now=now,
                                key=f"{job.key}:progress",
                            )
                        )
                    if result.wait_for:
                        self._set_state(
                            conn,
                            demand.id,
                            DemandState.AWAITING_APPROVAL,
                            now,
                            stage=Stage.FULFIL,
                            waiting_for=result.wait_for,
                        )
                    else:
                        ids.extend(self._after_step(conn, demand, job.step, now))
        done = attrs.evolve(job, state=JobState.DONE, finished_at=now, result=stored, lease_until=None, error=None)
        if self.host.implemented("itsm_job_finished"):
            self.host.job_finished(self, done, self._on_error(job.demand_id))
        if demand is not None and job.step >= 0:
            new = self.get(demand.id)
            if new.state != demand.state:
                self.host.demand_state_changed(self, new, demand.state, self._on_error(demand.id))
        self._wake(ids)
        return done

    def _after_step(self, conn: Connection, demand: Demand, step: int, now: datetime) -> list[int]:
        """Queue the next plan step, or finish the request when the plan is done."""
        svc = self._services.get(demand.service_key or "")
        if svc is not None and step + 1 < len(svc.plan):
            return [self._enqueue_step(conn, demand.id, svc, step + 1, now)]
        name = svc.name if svc else demand.summary
        links = svc.quick_start if svc else ()
        text = f"{name} is ready for you." + (" Get started:" if links else "")
        self._set_state(conn, demand.id, DemandState.FULFILLED, now, stage=Stage.OUTCOME, waiting_for=None)
        self._insert_event(
            conn,
            demand.id,
            Stage.OUTCOME,
            demand.channel,
            str(Actor.SYSTEM),
            text + "".join(f" {link.title}: {link.url}" for link in links),
            f"plan of {len(svc.plan) if svc else 0} steps complete; demand fulfilled",
            0,
            "outcome",
            now,
        )
        if svc is not None:
            self._subscribe(conn, svc.key, demand.customer_id, "fulfilled", now)
        return [
            self._enqueue_notify(
                conn,
                demand.id,
                purpose="outcome",
                subject=f"{name} is ready (#{demand.id})",
                body=text,
                links=links,
                now=now,
                key=f"{self.name}:demand:{demand.id}:outcome",
            )
        ]

    def _subscribe(self, conn: Connection, service_key: str, customer_id: str, source: str, now: datetime) -> None:
        exists = conn.execute(
            select(t.subscriptions.c.active).where(
                t.subscriptions.c.service_key == service_key, t.subscriptions.c.customer_id == customer_id
            )
        ).first()
        if exists is None:
            # two runners finishing two demands of one customer at once: the second insert is a no-op, not an error
            if conn.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                stmt: Any = pg_insert(t.subscriptions).on_conflict_do_nothing()
            else:
                from sqlalchemy.dialects.sqlite import insert as sqlite_insert

                stmt = sqlite_insert(t.subscriptions).on_conflict_do_nothing()
            conn.execute(
                stmt.values(service_key=service_key, customer_id=customer_id, source=source, active=True, since=now)
            )

    def _job_failed(self, job: Job, error: str, *, permanent: bool, retry_after: float | None = None) -> Job:
        now = self.clock()
        dead = permanent or job.attempts >= job.max_attempts
        with self.engine.begin() as conn:
            if dead:
                res = conn.execute(
                    update(t.jobs)
                    .where(t.jobs.c.id == job.id, t.jobs.c.state == "running")
                    .values(state="dead", error=error[:4000], finished_at=now, lease_until=None)
                )
            else:
                delay = timedelta(seconds=retry_after) if retry_after is not None else backoff(job.attempts)
                res = conn.execute(
                    update(t.jobs)
                    .where(t.jobs.c.id == job.id, t.jobs.c.state == "running")
                    .values(state="pending", error=error[:4000], run_after=now + delay, lease_until=None)
                )
            if res.rowcount == 1 and dead and job.demand_id is not None:
                demand = _demand(conn.execute(select(t.demands).where(t.demands.c.id == job.demand_id)).one())
                stuck = demand.kind == DemandKind.VALUE and DemandState.STUCK in demand.allowed_next()
                if stuck:
                    self._set_state(
                        conn, demand.id, DemandState.STUCK, now, waiting_for=f"the service desk ({job.action} failed)"
                    )
                self._insert_event(
                    conn,
                    demand.id,
                    demand.stage,
                    demand.channel,
                    str(Actor.SYSTEM),
                    "Something went wrong on our side. The service desk has been told and is looking at it."
                    if job.step >= 0
                    else "",
                    f"job {job.id} ({job.action}) dead after {job.attempts} attempt(s): {error}",
                    0,
                    "job_dead",
                    now,
                )
        out = self.job(job.id)
        if dead:
            log.error("job %s (%s) is dead: %s", job.id, job.action, error, extra={"demand_id": job.demand_id})
            self.host.job_finished(self, out, self._on_error(job.demand_id))
        return out


# Statements built once. SQLAlchemy memoizes a statement object's cache key, so reusing
# one skips rebuilding and re-keying the construct on every call: on the intake and
# job paths that was a third of the time spent outside the database.
_INSERT_DEMAND = insert(t.demands)
_INSERT_EVENT = insert(t.journey_events)
_INSERT_EVENTS = _INSERT_EVENT
_INSERT_EVENTS_IDS = insert(t.journey_events).returning(t.journey_events.c.id, sort_by_parameter_order=True)
_INSERT_JOBS = insert(t.jobs)
_INSERT_JOBS_IDS = insert(t.jobs).returning(t.jobs.c.id, sort_by_parameter_order=True)
_INSERT_MESSAGE = insert(t.messages)
_SELECT_DEMAND = select(t.demands).where(t.demands.c.id == bindparam("b_id"))
_SELECT_JOB = select(t.jobs).where(t.jobs.c.id == bindparam("b_id"))
_SELECT_OUTPUTS = select(t.demands.c.outputs).where(t.demands.c.id == bindparam("b_id"))
_SELECT_EXTERNAL_REF = select(t.demands.c.external_ref).where(t.demands.c.id == bindparam("b_id"))
_SELECT_EVENT_BY_REF = select(t.journey_events).where(t.journey_events.c.external_ref == bindparam("b_ref"))
_DUE_JOBS = (
    select(t.jobs.c.id)
    .where(
        or_(
            and_(t.jobs.c.state == "pending", t.jobs.c.run_after <= bindparam("b_now")),
            and_(t.jobs.c.state == "running", t.jobs.c.lease_until < bindparam("b_now")),
        )
    )
    .order_by(t.jobs.c.run_after, t.jobs.c.id)
    .limit(bindparam("b_limit", type_=Integer))
)
_CLAIM = (
    update(t.jobs)
    .where(
        t.jobs.c.id == bindparam("b_id"),
        or_(
            and_(t.jobs.c.state == "pending", t.jobs.c.run_after <= bindparam("b_now")),
            and_(
                t.jobs.c.state == "running",
                t.jobs.c.lease_until < bindparam("b_now"),
                t.jobs.c.attempts < t.jobs.c.max_attempts,
            ),
        ),
    )
    .values(
        state="running",
        lease_until=bindparam("b_lease", type_=t.jobs.c.lease_until.type),
        attempts=t.jobs.c.attempts + 1,
    )
    .returning(*t.jobs.c)
)
_BURY = (
    update(t.jobs)
    .where(
        t.jobs.c.id == bindparam("b_id"),
        t.jobs.c.state == "running",
        t.jobs.c.lease_until < bindparam("b_now"),
        t.jobs.c.attempts >= t.jobs.c.max_attempts,
    )
    .values(
        state="dead",
        finished_at=bindparam("b_now", type_=t.jobs.c.finished_at.type),
        lease_until=None,
        error="its runner stopped during the last attempt (lease expired)",
    )
)
# The batch claim: the subquery picks the due rows, locking them and skipping rows other
# runners hold (PostgreSQL; SQLite renders no FOR UPDATE and runs one writer at a time).
_DUE = t.jobs.alias("due")
_CLAIM_DUE = (
    update(t.jobs)
    .where(
        t.jobs.c.id.in_(
            select(_DUE.c.id)
            .where(
                or_(
                    and_(_DUE.c.state == "pending", _DUE.c.run_after <= bindparam("b_now")),
                    and_(
                        _DUE.c.state == "running",
                        _DUE.c.lease_until < bindparam("b_now"),
                        _DUE.c.attempts < _DUE.c.max_attempts,
                    ),
                )
            )
            .order_by(_DUE.c.run_after, _DUE.c.id)
            .limit(bindparam("b_limit", type_=Integer))
            .with_for_update(skip_locked=True)
        )
    )
    .values(
        state="running",
        lease_until=bindparam("b_lease", type_=t.jobs.c.lease_until.type),
        attempts=t.jobs.c.attempts + 1,
    )
    .returning(*t.jobs.c)
)
# _BURY for every job whose runner died on its last attempt; locked rows are another runner's to bury.
_BURY_DUE = (
    update(t.jobs)
    .where(
        t.jobs.c.id.in_(
            select(_DUE.c.id)
            .where(
                _DUE.c.state == "running",
                _DUE.c.lease_until < bindparam("b_now"),
                _DUE.c.attempts >= _DUE.c.max_attempts,
            )
            .with_for_update(skip_locked=True)
        )
    )
    .values(
        state="dead",
        finished_at=bindparam("b_now", type_=t.jobs.c.finished_at.type),
        lease_until=None,
        error="its runner stopped during the last attempt (lease expired)",
    )
)
_RELEASE = (
    update(t.jobs)
    .where(
        t.jobs.c.id.in_(bindparam("b_ids", expanding=True)),
        t.jobs.c.state == "running",
        t.jobs.c.lease_until == bindparam("b_lease", type_=t.jobs.c.lease_until.type),
    )
    .values(state="pending", attempts=t.jobs.c.attempts - 1, lease_until=None)
)
_SELECT_DEMANDS = select(t.demands).where(t.demands.c.id.in_(bindparam("b_ids", expanding=True)))
_JOB_DONE = (
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


def _stage_for(state: DemandState, current: Stage) -> Stage:
    return {
        DemandState.IN_FULFILMENT: Stage.FULFIL,
        DemandState.IN_PROGRESS: Stage.FULFIL,
        DemandState.AWAITING_APPROVAL: Stage.FULFIL,
        DemandState.FULFILLED: Stage.OUTCOME,
        DemandState.RESOLVED: Stage.OUTCOME,
        DemandState.ANSWERED: Stage.OUTCOME,
        DemandState.REJECTED: Stage.OUTCOME,
        DemandState.CLOSED: Stage.CONFIRM,
    }.get(state, current)


def _state_words(demand: Demand, state: DemandState) -> str:
    return {
        DemandState.IN_PROGRESS: "Someone is working on it.",
        DemandState.IN_FULFILMENT: "We are setting it up.",
        DemandState.AWAITING_APPROVAL: "It is waiting for approval.",
        DemandState.FULFILLED: "It is done.",
        DemandState.RESOLVED: "We think it is fixed. Please confirm.",
        DemandState.ANSWERED: "We have answered your question.",
        DemandState.CLOSED: "Closed. Thank you.",
        DemandState.CANCELLED: "Cancelled.",
        DemandState.REJECTED: "It was not approved.",
        DemandState.STUCK: "Something went wrong on our side; the service desk is looking at it.",
    }.get(state, str(state))


class _RowView:
    """Attribute access over a dict of column values, so rows just written map like rows read."""

    def __init__(self, values: Mapping[str, Any], **extra: Any):
        self.__dict__.update(values, **extra)


def _demand(row: Any) -> Demand:
    return Demand(
        id=row.id,
        kind=DemandKind(row.kind),
        customer_id=row.customer_id,
        summary=row.summary,
        channel=row.channel,
        state=DemandState(row.state),
        stage=Stage(row.stage),
        service_key=row.service_key,
        details=row.details,
        answers=row.answers or {},
        priority=Priority(row.priority),
        external_ref=row.external_ref,
        caused_by=row.caused_by,
        cause=row.cause,
        announcement_id=row.announcement_id,
        waiting_for=row.waiting_for,
        created_at=_aware(row.created_at),  # type: ignore[arg-type]
        updated_at=_aware(row.updated_at),  # type: ignore[arg-type]
        resolved_at=_aware(row.resolved_at),
    )


def _event(row: Any) -> JourneyEvent:
    return JourneyEvent(
        id=row.id,
        demand_id=row.demand_id,
        stage=Stage(row.stage),
        channel=row.channel,
        actor=row.actor,
        customer_sees=row.customer_sees,
        behind_scenes=row.behind_scenes,
        effort=row.effort,
        at=_aware(row.at),  # type: ignore[arg-type]
        kind=row.kind,
        # rows just written by submit are dicts without the column
        external_ref=getattr(row, "external_ref", None),
    )


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        demand_id=row.demand_id,
        customer_id=row.customer_id,
        announcement_id=row.announcement_id,
        action=row.action,
        step=row.step,
        params=row.params or {},
        key=row.key,
        state=JobState(row.state),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        run_after=_aware(row.run_after),  # type: ignore[arg-type]
        lease_until=_aware(row.lease_until),
        error=row.error,
        result=row.result,
        created_at=_aware(row.created_at),  # type: ignore[arg-type]
        finished_at=_aware(row.finished_at),
    )


def _insert_job(conn: Connection, row: dict[str, Any]) -> int:
    """Insert a job unless one with its key exists (a step finished twice queues its successor once).

    Returns the new job's id, or 0 when the key was there already.
    """
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(t.jobs).on_conflict_do_nothing(index_elements=["key"]).returning(t.jobs.c.id)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(t.jobs).on_conflict_do_nothing(index_elements=["key"]).returning(t.jobs.c.id)
    return int(conn.execute(stmt, row).scalar() or 0)
