"""What every part of the desk needs: the deployment, the store, the clock and the hooks.

One :class:`Context` is built per :class:`~itsmcore.desk.Desk` and handed to each part
in its constructor; no part reaches another through a global or an import of the facade.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select

from ..calendars import WorkingCalendar, weekdays_calendar
from ..components import JobRunner, deployment_secret
from ..deployment import Deployment, Directory
from ..errors import NotFound
from ..jobs import LEASE
from ..model import Service
from ..plugins import ErrorHandler, PluginHost
from ..settings import Config
from ..store import tables as t

log = logging.getLogger("itsmcore.desk")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Keep:
    """Marker: leave a column as it is."""


KEEP = Keep()


class Context:
    """A deployment's shared parts. ``desk`` is the facade that hooks receive as their ``desk`` argument."""

    def __init__(self, deployment: Deployment, engine: Engine, clock: Clock, desk: object):
        self.deployment = deployment
        self.config: Config = deployment.config
        self.host: PluginHost = deployment.host
        self.engine = engine
        #: For reads that need no transaction of their own (one statement, or several that
        #: need not see one snapshot, as under READ COMMITTED anyway): on PostgreSQL each is
        #: sent alone, without the BEGIN and ROLLBACK round trips around it. SQLite's reads
        #: cost no round trip, and an in-memory database shares one connection, so it keeps
        #: the engine as it is.
        self.reads: Engine = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else engine
        )
        self.clock = clock
        self.desk: Any = desk
        self.directory = Directory(deployment.directories())
        self.services: Mapping[str, Service] = {s.key: s for s in self.config.services}
        self.runner: JobRunner = deployment.runner()
        # how long a claim lasts before another runner may take the job over: the runner's say, else LEASE
        lease = getattr(self.runner, "lease", None)
        self.lease: timedelta = lease if isinstance(lease, timedelta) else LEASE
        with engine.connect() as conn:
            store = conn.execute(select(t.store_identity.c.id)).scalar_one()
        #: What every idempotency key starts with: ``NAME@STORE``, the deployment's name and the
        #: first 12 hex digits of its database's random id (``store_identity``). Unique per
        #: deployment instance: a database recreated from scratch numbers its demands from 1
        #: again but has another id, so a remote system never sees one key for two demands.
        self.key_prefix = f"{self.name}@{store[:12]}"
        self._calendars: dict[str, WorkingCalendar] = {}

    @property
    def name(self) -> str:
        return self.deployment.name

    def calendar(self, name: str | None = None) -> WorkingCalendar:
        """A ``[calendars.NAME]`` calendar (the default one without a name), built once per desk.

        Without any calendar configured, the default counts Monday to Friday in UTC.
        """
        key = name or self.config.default_calendar or ""
        cal = self._calendars.get(key)
        if cal is None:
            if not key:
                cal = weekdays_calendar()
            elif key in self.config.calendars:
                cal = self.config.calendars[key].build(key)
            else:
                raise NotFound(f"no calendar {key!r}; known: {', '.join(self.config.calendars) or 'none'}")
            self._calendars[key] = cal
        return cal

    def secret(self) -> bytes:
        """The deployment's signing secret (``ITSM_SECRET``, else its secret file, created 0600)."""
        return deployment_secret(self.config.base_dir / self.config.deployment.secret_file)

    def on_error(self, demand_id: int | None) -> ErrorHandler:
        """A hook failure recorder for one demand (or none): logged and kept in ``plugin_errors``."""

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

    def wake(self, job_ids: Sequence[int]) -> None:
        """Tell the runner that jobs were queued (0 stands for "was queued already" and is skipped)."""
        job_ids = [j for j in job_ids if j]
        if job_ids:
            self.runner.wake(self.desk, job_ids)
