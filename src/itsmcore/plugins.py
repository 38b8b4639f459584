"""Building the plugin manager: builtins, then entry points, then config modules.

There is no module-global manager: :meth:`PluginHost.for_config` builds one per
deployment. Entry points in the group ``itsm`` are read once and filtered by the
config before any is imported; each load is wrapped so a broken plugin produces one
:class:`~itsmcore.errors.PluginError` naming its distribution. :class:`PluginHost`
also offers one typed method per hook (tox's shape), which isolates observer
implementations from each other so that a plugin which raises cannot lose a demand.
Those calls still go through pluggy's hook executor, so ``pm.enable_tracing()`` and
``pm.add_hookcall_monitoring()`` see every one; wrappers, which would sit around the
isolated implementations, are refused at registration.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from . import hookspecs
from .components import (
    ActionComponent,
    Answer,
    ChannelComponent,
    Classification,
    Component,
    DirectoryComponent,
    EligibilityDecision,
    Intake,
    JobHandlerComponent,
    RunnerComponent,
    SurveyComponent,
)
from .errors import PluginError

if TYPE_CHECKING:
    import click
    from packaging.requirements import Requirement

    from .config import Config
    from .desk import Desk
    from .model import (
        Announcement,
        Assignment,
        Customer,
        Demand,
        DemandState,
        JourneyEvent,
        Prioritisation,
        Service,
        ServiceTarget,
        SurveyResponse,
    )
    from .model.job import Job

NAME = "itsm"
ENTRY_POINT_GROUP = "itsm"
HOOK_PREFIX = "itsm_"
BUILTIN_PLUGINS = ("itsmcore.builtin",)
#: The service-levels plugin: registered only for a deployment with ``[[service_levels]]`` rules.
SERVICE_LEVELS_PLUGIN = "itsmcore.builtin.service_level_hooks"
#: The escalations plugin: registered only for a deployment with ``[[escalations]]`` rules.
ESCALATIONS_PLUGIN = "itsmcore.builtin.escalation_hooks"

hookimpl = pluggy.HookimplMarker(NAME)

#: Registration hook -> (family name, record class).
REGISTRATION_HOOKS: Mapping[str, tuple[str, type[Component]]] = {
    "itsm_channels": ("channel", ChannelComponent),
    "itsm_directories": ("directory", DirectoryComponent),
    "itsm_fulfilment_actions": ("action", ActionComponent),
    "itsm_survey_methods": ("survey", SurveyComponent),
    "itsm_job_runners": ("runner", RunnerComponent),
    "itsm_job_handlers": ("job", JobHandlerComponent),
}

ErrorHandler = Callable[[str, str, BaseException], None]


@attrs.frozen(kw_only=True)
class PluginInfo:
    """What ``itsm plugins`` shows about one plugin."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    contract: str | None
    hooks: tuple[str, ...]
    components: tuple[tuple[str, str], ...] = ()


class _Manager(pluggy.PluginManager):
    """Accepts unmarked ``itsm_*`` functions as implementations, like pytest does."""

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        if not name.startswith(HOOK_PREFIX):
            return None
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None:
            method = getattr(plugin, name, None)
            if inspect.isroutine(method):
                return pluggy.HookimplOpts(
                    wrapper=False, hookwrapper=False, optionalhook=False, tryfirst=False, trylast=False, specname=None
                )
        return opts

    def call_impls(
        self, hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, object], firstresult: bool
    ) -> object:
        """Call ``impls`` of ``hook_name`` the way ``pm.hook.<name>(...)`` calls its own.

        Through pluggy's hook executor, so that tracing (:meth:`enable_tracing`) and
        :meth:`add_hookcall_monitoring` see the call; ``HookCaller`` has no public way to
        call a chosen list of implementations.
        """
        return self._hookexec(hook_name, impls, kwargs, firstresult)


class _HookCall:
    """One call of a hook through :class:`PluginHost`: where errors go, what came back.

    A plain slotted class: it is built on every hook call, and attrs' factory default
    costs a little more.
    """

    __slots__ = ("on_error", "results")

    def __init__(self, on_error: ErrorHandler) -> None:
        self.on_error = on_error
        self.results: list[tuple[str, Any]] = []


#: The :class:`PluginHost` hook call in progress in this context (thread or task); nested
#: calls (a plugin changing a demand from within a hook) stack through the reset token.
_CURRENT_CALL: ContextVar[_HookCall] = ContextVar("itsm_current_hook_call")


def _isolate(hook_name: str, impl: pluggy.HookImpl) -> pluggy.HookImpl:
    """``impl`` wrapped so that its exception goes to the current call's ``on_error``.

    The wrapper returns ``None`` for an implementation that raised, so pluggy's call goes
    on to the next one (and a firstresult call does not stop there), and it records each
    non-``None`` result with its plugin's name, which pluggy's own result drops. The
    wrapped implementation keeps the plugin, its name and its options, so monitors see
    who is called.
    """
    function = impl.function
    plugin_name = impl.plugin_name

    def isolated(*args: object) -> object:
        call = _CURRENT_CALL.get()
        try:
            result = function(*args)
        except Exception as e:
            call.on_error(plugin_name, hook_name, e)
            return None
        if result is not None:
            call.results.append((plugin_name, result))
        return result

    isolated.__wrapped__ = function  # type: ignore[attr-defined]  # pluggy reads parameter names through it
    wrapped = pluggy.HookImpl(impl.plugin, plugin_name, isolated, impl.opts)
    if wrapped.argnames != impl.argnames:  # a pluggy that stopped following __wrapped__
        raise RuntimeError(f"cannot isolate {plugin_name}'s {hook_name}: parameters {wrapped.argnames}")
    return wrapped


def parse_contract(value: str) -> tuple[int, int]:
    major, _, minor = str(value).partition(".")
    return int(major), int(minor or 0)


class PluginHost:
    """A deployment's plugin manager and the typed calls of every hook."""

    def __init__(self) -> None:
        self.pm = _Manager(NAME)
        self.pm.add_hookspecs(hookspecs)
        self._meta: dict[str, tuple[str | None, str | None]] = {}
        self._registry: dict[str, dict[str, Component]] | None = None
        #: hook name -> (its implementations when last wrapped, their isolated wrappers)
        self._isolated_impls: dict[str, tuple[list[pluggy.HookImpl], list[pluggy.HookImpl]]] = {}

    # ------------------------------------------------------------------ loading

    @classmethod
    def for_config(
        cls,
        config: Config | None = None,
        *,
        entry_points: bool = True,
        plugins: Sequence[object] = (),
    ) -> PluginHost:
        """Builtins, then installed distributions, then the config's modules, then ``plugins``."""
        host = cls()
        host.load_builtins()
        if entry_points:
            host.load_entry_points(disable=config.plugins.disable if config else ())
        if config is not None and config.service_levels:  # the clocks observe every journey event: only when wanted
            host.register(
                importlib.import_module(SERVICE_LEVELS_PLUGIN), name="service_levels", distribution="itsmcore"
            )
        if config is not None and config.escalations:  # observes journey events and jobs: only when wanted
            host.register(importlib.import_module(ESCALATIONS_PLUGIN), name="escalations", distribution="itsmcore")
        if config is not None:
            host.load_modules(config.plugins.modules)
        for p in plugins:
            host.register(p)
        return host

    def load_builtins(self) -> None:
        for name in BUILTIN_PLUGINS:
            self.register(importlib.import_module(name), name="builtin", distribution="itsmcore")

    def load_entry_points(self, disable: Iterable[str] = ()) -> None:
        """Load every entry point of the group ``itsm`` except those named in ``disable``."""
        skip = set(disable)
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in skip or self.pm.has_plugin(ep.name):
                continue
            dist = ep.dist.name if ep.dist else None
            version = ep.dist.version if ep.dist else None
            try:
                obj = ep.load()
            except Exception as e:  # a broken plugin must not take the host down silently
                raise PluginError(
                    ep.name,
                    f"failed to import {ep.value}: {type(e).__name__}: {e}; to run without it, add"
                    f' [plugins] disable = ["{ep.name}"] to the config, or uninstall {dist or "it"}',
                    dist,
                ) from e
            self.register(obj, name=ep.name, distribution=dist, version=version)

    def load_modules(self, modules: Iterable[str]) -> None:
        for modname in modules:
            if self.pm.has_plugin(modname):
                continue
            try:
                mod = importlib.import_module(modname)
            except Exception as e:
                raise PluginError(
                    modname,
                    f"failed to import: {type(e).__name__}: {e}; it is named in the config's [plugins] modules:"
                    " fix the module or take it out of that list",
                ) from e
            self.register(mod, name=modname)

    def register(
        self, plugin: object, name: str | None = None, distribution: str | None = None, version: str | None = None
    ) -> str:
        """Register one plugin after checking its contract and its implementations."""
        name = name or _plugin_name(plugin)
        contract = getattr(plugin, "ITSM_CONTRACT", None)
        if contract is not None:
            self._check_contract(name, str(contract), distribution)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DeprecationWarning)
                self.pm.register(plugin, name=name)
            for w in caught:  # a deprecated hook (pluggy's warn_on_impl): say which plugin uses it
                warnings.warn(
                    f"plugin {name!r} ({distribution or 'local module'}): {w.message}", DeprecationWarning, stacklevel=2
                )
        except ValueError as e:
            raise PluginError(name, str(e), distribution) from e
        except pluggy.PluginValidationError as e:
            raise PluginError(name, f"hook implementation does not match its specification: {e}", distribution) from e
        try:
            for caller in self.pm.get_hookcallers(plugin) or []:
                if caller.spec is None:
                    known = [
                        n for n in dir(self.pm.hook) if n.startswith(HOOK_PREFIX) and getattr(self.pm.hook, n).spec
                    ]
                    from .config import did_you_mean

                    raise PluginError(
                        name,
                        f"implements unknown hook {caller.name!r}; {did_you_mean(caller.name, known)}",
                        distribution,
                    )
                for impl in caller.get_hookimpls():
                    if impl.plugin is plugin and (impl.wrapper or impl.hookwrapper):
                        raise PluginError(
                            name,
                            f"{caller.name} is a {'hookwrapper' if impl.hookwrapper else 'wrapper'}: itsm hooks call"
                            " each implementation in isolation so that one plugin cannot lose a demand; wrappers"
                            " are not supported: implement the hook itself (to watch hook calls, use"
                            " pm.add_hookcall_monitoring)",
                            distribution,
                        )
                    if impl.plugin is plugin and impl.kwargnames:
                        raise PluginError(
                            name,
                            f"{caller.name} has parameters with default values ({', '.join(impl.kwargnames)});"
                            " hook implementations must not use defaults",
                            distribution,
                        )
        except PluginError:
            self.pm.unregister(plugin)
            raise
        self._meta[name] = (distribution, version)
        self._registry = None
        return name

    def _check_contract(self, name: str, declared: str, distribution: str | None) -> None:
        try:
            major, minor = parse_contract(declared)
        except ValueError:
            raise PluginError(name, f"ITSM_CONTRACT {declared!r} is not a version like '1.0'", distribution) from None
        core_major, core_minor = parse_contract(hookspecs.CONTRACT_VERSION)
        if major != core_major or minor > core_minor:
            raise PluginError(
                name,
                f"implements hook contract {declared}, but this itsmcore provides contract "
                f"{hookspecs.CONTRACT_VERSION}; install a version of the plugin written for {core_major}.x"
                + (" or upgrade itsmcore" if (major, minor) > (core_major, core_minor) else ""),
                distribution,
            )

    # ------------------------------------------------------------------ registry

    def registry(self) -> dict[str, dict[str, Component]]:
        """Every registered component by family and name, stamped with its plugin."""
        if self._registry is not None:
            return self._registry
        reg: dict[str, dict[str, Component]] = {family: {} for family, _ in REGISTRATION_HOOKS.values()}
        for hook_name, (family, record_cls) in REGISTRATION_HOOKS.items():
            for plugin_name, result in self.collect(hook_name, self._raise_load_error):
                dist = self._meta.get(plugin_name, (None, None))[0]
                try:
                    records = list(result)
                except Exception as e:
                    raise PluginError(plugin_name, f"{hook_name} raised {type(e).__name__}: {e}", dist) from e
                for record in records:
                    if not isinstance(record, record_cls):
                        raise PluginError(
                            plugin_name,
                            f"{hook_name} returned {record!r}; expected {record_cls.__name__} records",
                            dist,
                        )
                    other = reg[family].get(record.name)
                    if other is not None:
                        raise self._clash(family, record.name, plugin_name, other.plugin or "")
                    reg[family][record.name] = attrs.evolve(record, plugin=plugin_name)
        self._registry = reg
        return reg

    def _clash(self, family: str, name: str, one: str, other: str) -> PluginError:
        """Two plugins register one component name: blame the one registered later, the newcomer."""
        order = list(self._meta)
        rank = {p: order.index(p) if p in order else len(order) for p in (one, other)}
        newcomer, first = (one, other) if rank[one] >= rank[other] else (other, one)
        return PluginError(
            newcomer,
            f"registers {family} {name!r}, which plugin {first!r} already provides; rename the component,"
            f' or leave the plugin out with [plugins] disable = ["{newcomer}"]',
            self._meta.get(newcomer, (None, None))[0],
        )

    def _raise_load_error(self, plugin: str, hook: str, exc: BaseException) -> None:
        """``on_error`` for hooks called while loading: a plugin that raises stops the load, named."""
        dist = self._meta.get(plugin, (None, None))[0]
        raise PluginError(plugin, f"{hook} raised {type(exc).__name__}: {exc}", dist) from exc

    def info(self) -> list[PluginInfo]:
        """Each plugin with its version, hooks and components, for ``itsm plugins``."""
        reg = self.registry()
        out = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda np: (np[0] != "builtin", np[0])):
            if plugin is None:
                continue
            dist, version = self._meta.get(name, (None, None))
            hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [])
            comps = tuple(
                (family, comp.name) for family, comps in reg.items() for comp in comps.values() if comp.plugin == name
            )
            module = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
            out.append(
                PluginInfo(
                    name=name,
                    module=module,
                    distribution=dist,
                    version=version,
                    contract=getattr(plugin, "ITSM_CONTRACT", None),
                    hooks=tuple(hooks),
                    components=comps,
                )
            )
        return out

    # ------------------------------------------------------------------ calling

    def implemented(self, hook_name: str) -> bool:
        """Whether any plugin implements ``hook_name``: callers skip building arguments when none does.

        Asked per call rather than cached, so a plugin registered later is seen at once
        (pluggy's list copy costs well under a microsecond).
        """
        return any(not (i.hookwrapper or i.wrapper) for i in getattr(self.pm.hook, hook_name).get_hookimpls())

    def _isolated(self, hook_name: str) -> list[pluggy.HookImpl]:
        """The hook's implementations, each wrapped to catch and report its own exception.

        Built once per registration state and reused: re-wrapping on every call would
        cost pluggy's signature inspection each time. Wrappers are refused by
        :meth:`register`; one registered behind its back (``pm.register``) is left out.
        """
        impls = getattr(self.pm.hook, hook_name).get_hookimpls()
        cached = self._isolated_impls.get(hook_name)
        if cached is not None and cached[0] == impls:
            return cached[1]
        isolated = [_isolate(hook_name, impl) for impl in impls if not (impl.hookwrapper or impl.wrapper)]
        self._isolated_impls[hook_name] = (impls, isolated)
        return isolated

    def _call(
        self, hook_name: str, on_error: ErrorHandler, kwargs: dict[str, Any], firstresult: bool
    ) -> list[tuple[str, Any]]:
        """Call the hook through pluggy, so tracing and hook-call monitoring see it.

        Each implementation runs in isolation (see :func:`_isolate`): one that raises is
        reported to ``on_error`` and the next one still runs. Returns the non-``None``
        results with the name of the plugin that returned each, in call order.
        """
        call = _HookCall(on_error)
        token = _CURRENT_CALL.set(call)
        try:
            self.pm.call_impls(hook_name, self._isolated(hook_name), kwargs, firstresult)
        finally:
            _CURRENT_CALL.reset(token)
        return call.results

    def notify(self, hook_name: str, on_error: ErrorHandler, **kwargs: Any) -> None:
        """Call every implementation; one that raises is reported to ``on_error`` and skipped."""
        self._call(hook_name, on_error, kwargs, False)

    def collect(self, hook_name: str, on_error: ErrorHandler, **kwargs: Any) -> list[tuple[str, Any]]:
        """Every non-``None`` result with the name of the plugin that returned it."""
        return self._call(hook_name, on_error, kwargs, False)

    def first(self, hook_name: str, on_error: ErrorHandler, **kwargs: Any) -> tuple[str, Any] | None:
        """The first non-``None`` result (firstresult hooks), with its plugin's name.

        An implementation that raises is reported and skipped, so the next one may answer.
        """
        results = self._call(hook_name, on_error, kwargs, True)
        return results[0] if results else None

    # Typed facade: one method per journey hook.

    def classify(self, desk: Desk, intake: Intake, on_error: ErrorHandler) -> tuple[str, Classification] | None:
        return self.first("itsm_classify", on_error, desk=desk, intake=intake)

    def check_eligibility(
        self, desk: Desk, customer: Customer, service: Service, on_error: ErrorHandler
    ) -> list[tuple[str, EligibilityDecision]]:
        return self.collect("itsm_check_eligibility", on_error, desk=desk, customer=customer, service=service)

    def demand_received(self, desk: Desk, demand: Demand, on_error: ErrorHandler) -> None:
        self.notify("itsm_demand_received", on_error, desk=desk, demand=demand)

    def stage_entered(self, desk: Desk, demand: Demand, event: JourneyEvent, on_error: ErrorHandler) -> None:
        self.notify("itsm_stage_entered", on_error, desk=desk, demand=demand, event=event)

    def event_recorded(self, desk: Desk, demand: Demand, event: JourneyEvent, on_error: ErrorHandler) -> None:
        self.notify("itsm_event_recorded", on_error, desk=desk, demand=demand, event=event)

    def demand_state_changed(self, desk: Desk, demand: Demand, previous: DemandState, on_error: ErrorHandler) -> None:
        self.notify("itsm_demand_state_changed", on_error, desk=desk, demand=demand, previous=previous)

    def answer_query(self, desk: Desk, demand: Demand, on_error: ErrorHandler) -> tuple[str, Answer] | None:
        return self.first("itsm_answer_query", on_error, desk=desk, demand=demand)

    def authenticate(self, desk: Desk, login: str, password: str, on_error: ErrorHandler) -> Customer | None:
        res = self.first("itsm_authenticate", on_error, desk=desk, login=login, password=password)
        return res[1] if res else None

    def announcement_published(
        self, desk: Desk, announcement: Announcement, change: str, on_error: ErrorHandler
    ) -> None:
        self.notify("itsm_announcement_published", on_error, desk=desk, announcement=announcement, change=change)

    def customer_affected(
        self, desk: Desk, announcement: Announcement, customer: Customer, on_error: ErrorHandler
    ) -> None:
        self.notify("itsm_customer_affected", on_error, desk=desk, announcement=announcement, customer=customer)

    def survey_answered(self, desk: Desk, response: SurveyResponse, on_error: ErrorHandler) -> None:
        self.notify("itsm_survey_answered", on_error, desk=desk, response=response)

    def job_finished(self, desk: Desk, job: Job, on_error: ErrorHandler) -> None:
        self.notify("itsm_job_finished", on_error, desk=desk, job=job)

    def desk_opened(self, desk: Desk, on_error: ErrorHandler) -> None:
        self.notify("itsm_desk_opened", on_error, desk=desk)

    def prioritise(
        self, desk: Desk, intake: Intake, service: Service | None, on_error: ErrorHandler
    ) -> tuple[str, Prioritisation] | None:
        return self.first("itsm_prioritise", on_error, desk=desk, intake=intake, service=service)

    def assign(
        self, desk: Desk, intake: Intake, service: Service | None, priority: int, on_error: ErrorHandler
    ) -> tuple[str, Assignment] | None:
        return self.first("itsm_assign", on_error, desk=desk, intake=intake, service=service, priority=priority)

    def service_target(self, desk: Desk, demand: Demand, on_error: ErrorHandler) -> ServiceTarget | None:
        res = self.first("itsm_service_target", on_error, desk=desk, demand=demand)
        return res[1] if res else None

    def register_commands(self, cli: click.Group) -> None:
        self.notify("itsm_register_commands", self._raise_load_error, cli=cli)


def _plugin_name(plugin: object) -> str:
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    return f"{type(plugin).__module__}.{type(plugin).__qualname__}"


# ---------------------------------------------------------------------- installed distributions
#
# What pip cannot stop and the loader cannot see: a plugin distribution installed twice on
# sys.path (Python imports the first copy, whatever the other says), and a plugin installed
# with --no-deps or by hand beside a core outside the range it declares. ``itsm plugins``
# warns of both; ``itsm check`` warns of the first and refuses the second.

CORE_DISTRIBUTION = "itsmcore"


@attrs.frozen(kw_only=True)
class DuplicateDistribution:
    """One distribution found more than once on ``sys.path``; ``copies`` are (version, location), first wins."""

    name: str
    copies: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        where = ", ".join(f"{version} in {location}" for version, location in self.copies)
        return (
            f"distribution {self.name} is installed {len(self.copies)} times: {where}; Python uses the first"
            f" ({self.copies[0][0]}): uninstall the others or take their directories off sys.path"
        )


@attrs.frozen(kw_only=True)
class CoreRequirementMismatch:
    """A plugin distribution whose ``Requires-Dist: itsmcore ...`` range excludes the running core."""

    plugins: tuple[str, ...]
    distribution: str
    version: str
    requirement: str
    core_version: str

    @property
    def problem(self) -> str:
        return (
            f"version {self.version} requires {self.requirement}, this is {CORE_DISTRIBUTION} {self.core_version};"
            f" install a release of {self.distribution} made for {CORE_DISTRIBUTION} {self.core_version},"
            f" or an {CORE_DISTRIBUTION} in that range"
        )

    def as_error(self) -> PluginError:
        """The mismatch as the error ``itsm check`` exits with (status 2), naming the plugin."""
        return PluginError(", ".join(self.plugins), self.problem, self.distribution)

    def __str__(self) -> str:
        return str(self.as_error())


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)


def _is_plugin_distribution(dist: metadata.Distribution) -> bool:
    return bool(dist.entry_points.select(group=ENTRY_POINT_GROUP))


def duplicate_distributions() -> list[DuplicateDistribution]:
    """itsmcore and every plugin distribution installed more than once on ``sys.path``.

    :func:`importlib.metadata.entry_points` keeps only the first copy of each distribution,
    so the loader never sees the others; this reads every copy. The same copy reached
    through two ``sys.path`` entries counts once.
    """
    found: dict[str, dict[tuple[str, str], None]] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        key = _canonical(name)
        if key != CORE_DISTRIBUTION and not _is_plugin_distribution(dist):
            continue
        location = str(Path(str(dist.locate_file(""))).resolve())
        found.setdefault(key, {})[(dist.version, location)] = None
    return [
        DuplicateDistribution(name=name, copies=tuple(copies))
        for name, copies in sorted(found.items())
        if len(copies) > 1
    ]


def _version_range(requirement: Requirement) -> str:
    """``itsmcore>=0.1,<0.2``: lower bounds first, as people write ranges (packaging sorts them as text)."""
    specs = sorted(requirement.specifier, key=lambda s: (not s.operator.startswith((">", "~", "=")), str(s)))
    return requirement.name + ",".join(str(s) for s in specs)


def _core_requirement(dist: metadata.Distribution) -> Requirement | None:
    """The distribution's unconditional requirement on itsmcore, if it states one."""
    from packaging.requirements import InvalidRequirement, Requirement

    for line in dist.requires or ():
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue  # pip would not have installed it; nothing to compare
        if _canonical(req.name) == CORE_DISTRIBUTION and (req.marker is None or req.marker.evaluate({"extra": ""})):
            return req
    return None


def core_requirement_mismatches(disable: Iterable[str] = ()) -> list[CoreRequirementMismatch]:
    """Each plugin distribution (entry point group ``itsm``) whose itsmcore range excludes this core.

    Reads the installed metadata, imports nothing; plugins named in ``disable`` (the
    config's ``[plugins] disable``) are not loaded, so their range does not matter. The
    core's version is its installed distribution's: what pip resolved the range against.
    """
    try:
        core_version = metadata.version(CORE_DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree without installing: nothing to compare
        return []
    skip = set(disable)
    by_dist: dict[str, tuple[metadata.Distribution, list[str]]] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.dist is None or ep.name in skip:
            continue
        by_dist.setdefault(_canonical(ep.dist.name), (ep.dist, []))[1].append(ep.name)
    out = []
    for _key, (dist, names) in sorted(by_dist.items()):
        req = _core_requirement(dist)
        if req is not None and not req.specifier.contains(core_version, prereleases=True):
            out.append(
                CoreRequirementMismatch(
                    plugins=tuple(sorted(names)),
                    distribution=dist.name,
                    version=dist.version,
                    requirement=_version_range(req),
                    core_version=core_version,
                )
            )
    return out
