"""The desk's operations side, part of the :class:`~itsmcore.desk.Desk` facade: messages and the job queue.

What operators, channels and job runners call; split from the facade module so that each
stays small. One-line delegations to delivery, the outbox, the queue and execution.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from ..calendars import WorkingCalendar
from ..components import Channel
from ..errors import NotFound
from ..model import Actor, Customer, CustomerMatch, Demand, Identity, Link, ServiceClock
from ..model.job import Job
from .context import KEEP, Context, Keep
from .delivery import Delivery
from .execution import Execution
from .handling import Handling
from .journey import acting, acting_as
from .outbox import Outbox, job_row
from .people import People
from .queue import JobQueue


class Operations:
    """Messages and jobs; :class:`~itsmcore.desk.Desk` builds the parts these delegate to."""

    engine: Engine
    _ctx: Context
    _outbox: Outbox
    _delivery: Delivery
    _queue: JobQueue
    _execution: Execution
    _handling: Handling
    _people: People

    # ------------------------------------------------------------------ service operations

    def calendar(self, name: str | None = None) -> WorkingCalendar:
        """A ``[calendars.NAME]`` working calendar, the default one without a name (see ``itsmcore.calendars``)."""
        return self._ctx.calendar(name)

    def set_priority(self, demand_id: int, priority: int, reason: str, *, actor: str = Actor.AGENT) -> Demand:
        """Change a demand's priority (1 critical to 4 low); ``reason`` is required and kept on its journey.

        Service-level clocks follow: the rule that matches the new priority sets the targets.
        """
        return self._handling.set_priority(demand_id, priority, reason, actor=actor)

    def service_clocks(self, demand_id: int) -> list[ServiceClock]:
        """A demand's service-level clocks (response first): state, due time, working time used, breach."""
        return self._people.clocks(demand_id)

    # ------------------------------------------------------------------ people

    def identify(self, login: str | Identity, *, known: bool = True) -> Identity:
        """The agent with this login as the directory names them (NotFound, with close matches, if unknown).

        ``known=False`` takes a login no directory knows as it is, without a name (the
        operating system's user when no agent was named).
        """
        return self._people.identify(login, known=known)

    @contextmanager
    def acting_as(self, who: str | Identity | None, *, known: bool = True) -> Iterator[Identity | None]:
        """Record ``who`` (a login, looked up as :meth:`identify` does) on the agent's events written inside the block.

        Every event of the ``agent`` role, and every event whose actor is the identity's
        login (an API token's name), carries the person in ``JourneyEvent.by``; events
        recorded with an explicit person (an approver) keep theirs. ``None`` records no one.
        Blocks nest; the identity belongs to the current thread or task.
        """
        person = None if who is None else self._people.identify(who, known=known)
        with acting_as(person):
            yield person

    def acting(self) -> Identity | None:
        """The person :meth:`acting_as` set for the current thread or task, if any."""
        return acting()

    def search_customers(self, text: str, *, limit: int = 20) -> list[CustomerMatch]:
        """Customers found by part of their name, login, email or phone number, by name (at most ``limit``).

        Each word typed must start a word of theirs (case and accents ignored); a phone number
        matches by its digits or its last four or more. ``InvalidInput`` for fewer than two
        letters or digits, over 200 characters, or a ``limit`` outside 1-50.
        """
        return self._people.search(text, limit=limit)

    def index_customers(self) -> int:
        """Rebuild the customer search index from the directories; returns how many customers it holds.

        A search rebuilds it by itself once per process when the directories list a different
        number of customers; run this (``itsm customer index``) after editing customers.
        """
        return self._people.index()

    # ------------------------------------------------------------------ messages

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
            jid = self._outbox.notify(
                conn,
                demand_id,
                purpose=purpose,
                subject=subject,
                body=text,
                now=self._ctx.clock(),
                customer_id=customer,
                links=links,
                channel=channel,
            )
        self._outbox.wake([jid])
        return jid

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
        thread_ref: str | Keep | None = KEEP,
    ) -> tuple[str, str, str]:
        """Send one message now and keep it in the store; returns (channel, address, fallback note).

        Jobs call this; other code should queue a message with :meth:`notify` so it is durable.
        """
        return self._delivery.deliver(
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

    def messages(
        self, *, customer: str | None = None, demand_id: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Messages sent (newest first): the portal inbox and the audit trail of notifications."""
        return self._delivery.messages(customer=customer, demand_id=demand_id, limit=limit)

    def channels(self) -> dict[str, Channel]:
        """The deployment's outbound channels by name."""
        return self._delivery.channels()

    def channel_for(self, customer: Customer, wanted: str | None = None) -> tuple[str, Channel, str | None, str]:
        """The channel to reach a customer: ``wanted``, else their preferences, else the default.

        Returns (name, channel, address, fallback note). The note is empty when the
        wanted or a preferred channel reached them; otherwise it says why the default
        channel (or, failing that, the ``log`` channel: the portal inbox) was used, and
        the message is counted as a fallback.
        """
        return self._delivery.channel_for(customer, wanted)

    # ------------------------------------------------------------------ jobs

    def jobs(self, *, state: str | None = None, demand_id: int | None = None, limit: int = 100) -> list[Job]:
        """Jobs, newest first."""
        return self._queue.jobs(state=state, demand_id=demand_id, limit=limit)

    def job(self, job_id: int) -> Job:
        """The job; NotFound otherwise."""
        return self._queue.job(job_id)

    def job_stats(self) -> dict[str, int]:
        """How many jobs are in each state."""
        return self._queue.stats()

    def queue_job(
        self,
        action: str,
        key: str,
        params: Mapping[str, Any] | None = None,
        *,
        run_after: datetime | None = None,
        max_attempts: int | None = None,
        conn: Connection | None = None,
    ) -> int:
        """Queue a job of a plugin's own kind (registered by ``itsm_job_handlers``); its id, or 0 if ``key`` was queued already.

        ``key`` makes queueing idempotent (the deployment's key prefix and ``action`` are put
        before it) and is the job's idempotency key on every attempt. ``params`` must be
        JSON. ``max_attempts`` overrides the handler's. With ``conn`` the job is written in
        the caller's transaction, with the caller's own rows, and the caller wakes the runner
        with :meth:`wake_jobs` after the commit; without, it is committed and the runner is
        woken here. :class:`~itsmcore.errors.NotFound` when no plugin handles ``action``.
        """
        found = self._ctx.deployment.job_handler(action)
        if found is None:
            known = sorted(self._ctx.host.registry().get("job", {}))
            raise NotFound(f"no plugin handles jobs of {action!r}; known: {', '.join(known) or 'none'}")
        now = self._ctx.clock()
        row = job_row(
            action=action,
            key=f"{self._ctx.key_prefix}:{action}:{key}",
            now=now,
            params=params,
            run_after=run_after,
            max_attempts=max_attempts or found[0].max_attempts,
        )
        if conn is not None:
            return self._outbox.add(conn, row)
        with self.engine.begin() as own:
            jid = self._outbox.add(own, row)
        self._outbox.wake([jid])
        return jid

    def wake_jobs(self, job_ids: Sequence[int]) -> None:
        """Tell the runner that jobs queued with :meth:`queue_job` in the caller's transaction were committed."""
        self._outbox.wake(job_ids)

    def retry_job(self, job_id: int) -> Job:
        """Give a dead job another go (``itsm jobs retry``); a stuck demand resumes. Conflict unless it is dead."""
        return self._queue.retry(job_id)

    def claim(self, job_id: int, now: datetime | None = None) -> bool:
        """Claim a due job for this runner; only one claimer can win."""
        return self._queue.claim(job_id, now) is not None

    def claim_job(self, job_id: int, now: datetime | None = None) -> Job | None:
        """Claim a due job by id and return it as claimed (attempt counted, lease set), or ``None`` if not won.

        What a worker handed ids by a broker calls: the claim's own ``RETURNING`` gives the
        job, so executing it (:meth:`execute_job` with the ``Job``) reads nothing again.
        """
        return self._queue.claim(job_id, now)

    def outstanding_jobs(self) -> int:
        """How many jobs are running or due now, counted at one instant: 0 means the queue is idle
        until a job falls due later (what a test or a shutdown waits for)."""
        return self._queue.outstanding()

    def due_jobs(self, limit: int = 100) -> list[int]:
        """Ids of jobs due now, oldest first, without claiming them (what a sweep hands to workers)."""
        return self._queue.due(limit)

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
        return [job for job, _ in self._queue.claim_due(limit, now, with_demands=False)]

    def run_due_jobs(self, limit: int | None = None, *, batch: int = 50) -> int:
        """Run every job that is due now (jobs a job creates included); returns how many ran.

        Jobs are claimed ``batch`` at a time (:meth:`claim_due`), so several processes
        running this at once share the work without running a job twice. Lower ``batch``
        when jobs are slow: a batch is run in order by one process, and what it has not
        started when the lease ends is handed back unrun.
        """
        return self._execution.run_due(limit, batch=batch)

    def execute_job(self, job: int | Job) -> Job:
        """Execute a job this runner has already claimed (see :meth:`claim_job`), and end it: done, retried, or dead.

        Give the ``Job`` the claim returned, or its id (then it is read first).
        """
        return self._execution.execute(job if isinstance(job, Job) else self._queue.job(job))
