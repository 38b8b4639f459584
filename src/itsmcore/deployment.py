"""A deployment: its config, resolved against the plugins it names, and its components."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .components import (
    Channel,
    ComponentContext,
    DirectoryBackend,
    FulfilmentAction,
    JobHandler,
    JobHandlerComponent,
    JobRunner,
    SurveyComponent,
    SurveyMethod,
)
from .config import ComponentConfig, Config, read_config, resolve
from .errors import PluginError
from .model import ConfigurationItem, Customer
from .plugins import PluginHost

DEFAULT_SURVEYS = ("nps", "csat", "ces")


@attrs.frozen(kw_only=True)
class Sandbox:
    """One running stand-in: the component it serves, the overrides it gave, and the stand-in itself."""

    path: str
    use: str
    plugin: str
    overrides: Mapping[str, Any]
    standin: Any

    def summary(self) -> str:
        """What the stand-in received, in one line (from its ``summary()``), else what it overrode."""
        summary = getattr(self.standin, "summary", None)
        if callable(summary):
            return str(summary())
        return f"{self.path} ({self.use}) pointed at a local stand-in: {', '.join(sorted(self.overrides))}"


@attrs.define
class Deployment:
    """A config resolved against its plugins. Components are built on first use."""

    config: Config
    host: PluginHost
    _instances: dict[str, Any] = attrs.field(factory=dict, init=False)
    #: Settings of plugins' job handlers while :meth:`sandboxed` points them at stand-ins.
    _job_settings: dict[str, Any] = attrs.field(factory=dict, init=False)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        plugins: Sequence[object] = (),
        entry_points: bool = True,
    ) -> Deployment:
        """Read, load plugins and resolve. Raises ConfigError or PluginError; starts nothing."""
        config = read_config(path)
        host = PluginHost.for_config(config, entry_points=entry_points, plugins=plugins)
        config = resolve(config, host.registry())
        return cls(config, host)

    @property
    def name(self) -> str:
        return self.config.deployment.name

    def _context(self, cc: ComponentConfig) -> ComponentContext:
        return ComponentContext(
            name=cc.name or cc.use,
            deployment=self.name,
            base_dir=self.config.base_dir,
            secret_file=self.config.deployment.secret_file,
        )

    @contextlib.contextmanager
    def sandboxed(self) -> Iterator[list[Sandbox]]:
        """Run every configured component that offers a ``sandbox`` against its local stand-in.

        For demos and trials. Enters each sandbox (starting its stand-in on 127.0.0.1), rebuilds
        the component's settings with ``attrs.evolve(settings, **overrides)`` and yields the
        running :class:`Sandbox` records. Components must not have been built yet (they are
        built on first use, so enter this right after :meth:`load`). On exit the components
        are closed, the stand-ins stopped and the config restored. Plan steps that give their
        own ``url`` (or other settings) as step keys are not touched: only component tables are.
        A plugin's kind of job (``itsm_job_handlers``) with a sandbox is started too when the
        config has the record's ``config_table``; its handler is built with the overrides.
        """
        if self._instances:
            raise RuntimeError("sandboxed() must be entered before any component is built")
        original = self.config
        started: list[Sandbox] = []
        with contextlib.ExitStack() as stack:
            components: dict[str, dict[str, ComponentConfig]] = {}
            for table, family in original.components.items():
                components[table] = {name: self._sandbox_one(cc, stack, started) for name, cc in family.items()}
            runner = self._sandbox_one(original.runner, stack, started)
            for record in self.host.registry().get("job", {}).values():  # plugins' kinds of job
                if isinstance(record, JobHandlerComponent) and record.sandbox and record.config_table in original.extra:
                    cc = ComponentConfig(
                        table=record.config_table,
                        name="",
                        use=record.name,
                        settings=record.settings(),
                        file=original.path.name,
                        record=record,
                    )
                    cc = self._sandbox_one(cc, stack, started)
                    self._job_settings[record.name] = cc.settings
            self.config = attrs.evolve(original, components=components, runner=runner)
            try:
                yield started
            finally:
                self.close()
                self._job_settings.clear()
                self.config = original

    def _sandbox_one(self, cc: ComponentConfig, stack: contextlib.ExitStack, started: list[Sandbox]) -> ComponentConfig:
        record = cc.record
        if record is None or record.sandbox is None:
            return cc
        try:
            standin = record.sandbox(cc.settings, self._context(cc))
            overrides = dict(stack.enter_context(standin))
            settings = attrs.evolve(cc.settings, **overrides) if overrides else cc.settings
        except Exception as e:
            raise PluginError(
                record.plugin, f"could not start the sandbox of {cc.path} (use = {cc.use!r}): {type(e).__name__}: {e}"
            ) from e
        started.append(Sandbox(path=cc.path, use=cc.use, plugin=record.plugin, overrides=overrides, standin=standin))
        return attrs.evolve(cc, settings=settings)

    def _build(self, cc: ComponentConfig) -> Any:
        key = f"{cc.table}.{cc.name}"
        if key not in self._instances:
            assert cc.record is not None
            ctx = self._context(cc)
            try:
                self._instances[key] = cc.record.factory(cc.settings, ctx)
            except Exception as e:
                raise PluginError(
                    cc.record.plugin, f"could not start {cc.path} (use = {cc.use!r}): {type(e).__name__}: {e}"
                ) from e
        return self._instances[key]

    def start_all(self) -> None:
        """Build every configured component and every action a plan uses, so a factory's complaint shows at check time."""
        for table in ("directory", "channels", "actions", "surveys"):
            for cc in self.config.family(table).values():
                self._build(cc)
        for service in self.config.services:
            for step in service.plan:
                if step.task is None:
                    self.action(step.action)
        self.runner()

    def close(self) -> None:
        """Close the components that hold resources (connection pools, sockets); keep going on errors."""
        for instance in self._instances.values():
            close = getattr(instance, "close", None)
            if callable(close):
                # closing must never hide the error that made us close
                with contextlib.suppress(Exception):
                    close()
        self._instances.clear()

    def directories(self) -> list[DirectoryBackend]:
        return [self._build(cc) for cc in self.config.family("directory").values()]

    def channels(self) -> dict[str, Channel]:
        """Configured channels by name; the ``log`` channel is always there."""
        out = {name: self._build(cc) for name, cc in self.config.family("channels").items()}
        if "log" not in out:
            out["log"] = self._implicit("channel", "log")
        return out

    def actions(self) -> dict[str, FulfilmentAction]:
        """Every registered action by name (configured ones with their ``[actions.X]`` settings)."""
        configured = {cc.use: cc for cc in self.config.family("actions").values()}
        out: dict[str, FulfilmentAction] = {}
        for name in self.host.registry()["action"]:
            out[name] = self._build(configured[name]) if name in configured else self._implicit("action", name)
        return out

    def action(self, name: str) -> FulfilmentAction:
        """The action a plan step names: an ``[actions.NAME]`` table, else a component by name."""
        tables = self.config.family("actions")
        if name in tables:
            return self._build(tables[name])
        configured = {cc.use: cc for cc in tables.values()}
        return self._build(configured[name]) if name in configured else self._implicit("action", name)

    def action_record(self, name: str) -> Any:
        """The component record behind a plan step's action name, or ``None``."""
        tables = self.config.family("actions")
        if name in tables:
            return tables[name].record
        return self.host.registry()["action"].get(name)

    def surveys(self) -> dict[str, SurveyMethod]:
        out = {name: self._build(cc) for name, cc in self.config.family("surveys").items()}
        for name in DEFAULT_SURVEYS:
            if name not in out and name in self.host.registry()["survey"]:
                out[name] = self._implicit("survey", name)
        return out

    def survey_records(self) -> Mapping[str, SurveyComponent]:
        return self.host.registry()["survey"]  # type: ignore[return-value]

    def job_handler(self, action: str) -> tuple[JobHandlerComponent, JobHandler] | None:
        """The record and the handler a plugin registered for jobs of ``action`` (``itsm_job_handlers``), or ``None``."""
        record = self.host.registry().get("job", {}).get(action)
        if not isinstance(record, JobHandlerComponent):
            return None
        return record, self._implicit("job", action)

    def runner(self) -> JobRunner:
        cc = self.config.runner
        if cc.record is None:
            return self._implicit("runner", cc.use)  # type: ignore[no-any-return,unused-ignore]
        return self._build(cc)  # type: ignore[no-any-return,unused-ignore]

    def _implicit(self, family: str, name: str) -> Any:
        """A component used with default settings without a config table of its own."""
        key = f"implicit.{family}.{name}"
        if key not in self._instances:
            record = self.host.registry()[family][name]
            settings = self._job_settings.get(name) if family == "job" else None
            ctx = ComponentContext(
                name=name,
                deployment=self.name,
                base_dir=self.config.base_dir,
                secret_file=self.config.deployment.secret_file,
            )
            self._instances[key] = record.factory(settings if settings is not None else record.settings(), ctx)
        return self._instances[key]


class Directory:
    """The configured directory backends, asked in config order."""

    def __init__(self, backends: Iterable[DirectoryBackend]):
        self.backends = list(backends)

    def get_customer(self, customer_id: str) -> Customer | None:
        for b in self.backends:
            c = b.get_customer(customer_id)
            if c is not None:
                return c
        return None

    def customer_by_email(self, email: str) -> Customer | None:
        """The customer with this email address (case-insensitive), asking backends that can search first."""
        wanted = email.strip().casefold()
        for b in self.backends:
            finder = getattr(b, "find_by_email", None)
            if finder is not None:
                c = finder(wanted)
                if c is not None:
                    return c
                continue
            for c in b.list_customers():
                if c.email and c.email.casefold() == wanted:
                    return c
        return None

    def list_customers(self) -> list[Customer]:
        seen: dict[str, Customer] = {}
        for b in self.backends:
            for c in b.list_customers():
                seen.setdefault(c.id, c)
        return list(seen.values())

    def authenticate(self, login: str, password: str) -> Customer | None:
        for b in self.backends:
            c = b.authenticate(login, password)
            if c is not None:
                return c
        return None

    def sign_in_entry(self, login: str) -> str | None:
        """The entry ``login`` names in the first backend that knows it (its customer id or DN), else ``None``.

        Sign-in failures are counted per entry, so every spelling of one account shares
        a count. Backends without ``sign_in_entry`` name nothing: their logins are counted
        as typed.
        """
        for b in self.backends:
            finder = getattr(b, "sign_in_entry", None)
            if finder is not None:
                entry = finder(login)
                if entry:
                    return str(entry)
        return None

    def configuration_items(self, customer_id: str) -> list[ConfigurationItem]:
        out: list[ConfigurationItem] = []
        for b in self.backends:
            out.extend(b.configuration_items(customer_id))
        return out


def config_dir(path: str | os.PathLike[str]) -> Path:
    return Path(path).absolute().parent
