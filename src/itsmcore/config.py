"""Deployment config: one TOML file structured by cattrs into attrs classes.

Reading happens in two passes. :func:`read_config` parses the file and the core's own
tables; once the plugins named there are loaded, :func:`resolve` builds every
component's settings with the component's own attrs class and checks every plan step.
Both passes collect *all* problems and raise one :class:`~itsmcore.errors.ConfigError`
whose lines name the file, the key path, what was expected and a close match.
"""

from __future__ import annotations

import glob
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .components import ActionComponent, Component, NoSettings
from .errors import ConfigError, ConfigProblem
from .model import Ask, AskType, DemandKind, HumanTask, KnowledgeArticle, PlanStep, Service
from .settings import (
    AnnouncementSettings,
    ApprovalSettings,
    CalendarSettings,
    ComponentConfig,
    Config,
    DeploymentSettings,
    PluginSettings,
    PrioritySettings,
    SecuritySettings,
    ServiceLevelRule,
    SurveyRules,
    TeamSettings,
    ToBeJourney,
)
from .structuring import CONVERTER as CONVERTER  # the converter settings go through, for tests that build settings
from .structuring import did_you_mean, join_path, structure

CONFIG_ENV = "ITSM_CONFIG"
DEFAULT_CONFIG_NAME = "itsm.toml"

#: The families of component tables and the hook family each draws from.
COMPONENT_TABLES = {"directory": "directory", "channels": "channel", "actions": "action", "surveys": "survey"}

# --------------------------------------------------------------------------- reading

#: Every top-level key of a deployment config, with its line in the config reference (which
#: documents each one, generated from the classes below and from :mod:`itsmcore.settings`).
TOP_LEVEL: Mapping[str, str] = {
    "deployment": "The deployment itself: its name, database, secret and links.",
    "plugins": "Which plugins to load besides the installed ones, and which to leave out.",
    "directory": "Who customers are: one or more directory backends, asked in order; at least one.",
    "channels": "How customers are reached and reach IT: portal, email, SMS, chat.",
    "actions": "Configured fulfilment actions, named by the plan steps that run them.",
    "surveys": "Survey methods with settings of their own (NPS, CSAT and CES need none).",
    "runner": "What runs the jobs (inline in the process that queues them, unless chosen).",
    "services": "The catalog: one `[[services]]` table per service.",
    "include": "Catalog files read with this one, each holding `[[services]]` and `[[knowledge]]` only.",
    "asks": "Named questions services ask by name, besides the standard ones.",
    "knowledge": "Knowledge articles: one `[[knowledge]]` table per article, imported once into the store as "
    "published (then edited with `itsm kb`; see the knowledge base page).",
    "announcements": "How outages are followed through.",
    "approvals": "How approvers are asked and reminded.",
    "teams": "The teams that own demands and people's plan steps, their members (a directory group), lead and policy.",
    "survey_rules": "When customers are asked how it went.",
    "security": "How sign-ins are protected from password guessing.",
    "priorities": "A demand's priority from its impact and urgency (a matrix, the services' impact, VIPs' urgency).",
    "calendars": "Business-hours calendars: the working time every due date and working-time figure counts in.",
    "service_levels": "Service-level targets (first response, resolution) by service, kind and priority.",
    "assignment": "Who owns a new demand: the team, and the policy that picks its agent.",
    "escalations": "Escalation rules: on a service-level warning or breach, a late approval or a dead job, whom to tell.",
    "journeys": "To-be journeys: how each service should feel, compared with how it does in the reports.",
    "reports": "Kept for report plugins; the core reads nothing from it.",
    "cmdb": "Where the relationships between configuration items come from, and how far an impact walk goes.",
    "changes": "Planned changes: how many hours before its window an approved change is announced (`notice_hours`).",
    "relationships": "Relationships between configuration items and to services: one `[[relationships]]` table each.",
    "portal": "The portal's settings, read only when no `[channels.NAME]` table uses the portal.",
    "webhooks": "Outbound webhooks (the itsm-webhooks plugin reads it; the core reads nothing from it).",
}

STANDARD_ASKS: Mapping[str, Ask] = {
    "mobile_number": Ask(name="mobile_number", type=AskType.PHONE, label="Your mobile number", prefill="mobile"),
    "mobile_os": Ask(
        name="mobile_os",
        type=AskType.CHOICE,
        label="Your phone's system",
        choices=("iOS", "Android"),
        prefill="device.os",
    ),
    "email": Ask(name="email", type=AskType.EMAIL, label="Your email address", prefill="email"),
    "device": Ask(name="device", type=AskType.DEVICE, label="Which of your devices?"),
    "reason": Ask(name="reason", type=AskType.TEXT, label="What do you need it for?", required=False),
}


def find_config(path: str | os.PathLike[str] | None = None) -> Path:
    """The config to use: ``path``, else ``$ITSM_CONFIG``, else ``./itsm.toml``."""
    if path is not None:
        return Path(path)
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else Path(DEFAULT_CONFIG_NAME)


def _load_toml(path: Path, problems: list[ConfigProblem]) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(ConfigProblem(str(path), "", "file not found", "create one with 'itsm init DIR'"))
        return None
    except (OSError, UnicodeDecodeError) as e:
        problems.append(ConfigProblem(str(path), "", f"cannot read: {e}"))
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # tomllib's message ends with "(at line L, column C)".
        problems.append(ConfigProblem(str(path), "", f"invalid TOML: {e}"))
        return None


def read_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Parse a config file and the core's own tables. Raises ConfigError."""
    cfg_path = find_config(path).absolute()
    file = str(find_config(path))
    problems: list[ConfigProblem] = []
    data = _load_toml(cfg_path, problems)
    if data is None:
        raise ConfigError(problems)

    for key in data:
        if key not in TOP_LEVEL:
            problems.append(ConfigProblem(file, key, "unknown table", did_you_mean(key, TOP_LEVEL)))

    deployment = structure(data.get("deployment", {}), DeploymentSettings, file, "deployment", problems)
    plugins = structure(data.get("plugins", {}), PluginSettings, file, "plugins", problems)
    announcements = structure(data.get("announcements", {}), AnnouncementSettings, file, "announcements", problems)
    approvals = structure(data.get("approvals", {}), ApprovalSettings, file, "approvals", problems)
    teams: dict[str, TeamSettings] = {}
    teams_raw = data.get("teams", {})
    if not isinstance(teams_raw, Mapping):
        problems.append(ConfigProblem(file, "teams", f"expected a table of named teams, got {teams_raw!r}"))
        teams_raw = {}
    for key, raw_team in teams_raw.items():
        team = structure(raw_team, TeamSettings, file, f"teams.{key}", problems)
        if team is not None:
            teams[str(key)] = team
    survey_rules = structure(data.get("survey_rules", {}), SurveyRules, file, "survey_rules", problems)
    security = structure(data.get("security", {}), SecuritySettings, file, "security", problems)

    components: dict[str, dict[str, ComponentConfig]] = {}
    for table in COMPONENT_TABLES:
        raw = data.get(table, {})
        if not isinstance(raw, Mapping):
            problems.append(ConfigProblem(file, table, f"expected a table of named components, got {raw!r}"))
            continue
        fam: dict[str, ComponentConfig] = {}
        for name, body in raw.items():
            cc = _component(table, name, body, file, problems)
            if cc is not None:
                fam[name] = cc
        components[table] = fam
    if not components.get("directory"):
        problems.append(
            ConfigProblem(
                file,
                "directory",
                "no directory configured",
                'add [directory.main] use = "file" path = "customers.toml"',
            )
        )

    runner_raw = data.get("runner", {"use": "inline"})
    runner = _component("runner", "", runner_raw, file, problems) if isinstance(runner_raw, Mapping) else None
    if runner is None:
        runner = ComponentConfig(table="runner", name="", use="inline", settings={}, file=file)

    asks = _asks(data.get("asks", {}), file, problems)
    raw_services: list[tuple[str, str, Mapping[str, Any]]] = []
    services_raw = data.get("services", [])
    if not isinstance(services_raw, list):
        problems.append(ConfigProblem(file, "services", "expected an array of tables ([[services]])"))
        services_raw = []
    for i, s in enumerate(services_raw):
        raw_services.append((file, f"services[{i}]", s))
    knowledge_raw: list[tuple[str, str, Any]] = [
        (file, f"knowledge[{i}]", k) for i, k in enumerate(_array(data, "knowledge", file, problems))
    ]
    include = data.get("include", [])
    if isinstance(include, str):
        include = [include]
    if not isinstance(include, list) or not all(isinstance(p, str) for p in include):
        problems.append(ConfigProblem(file, "include", "expected a list of glob patterns"))
        include = []
    for pattern in include:
        matches = sorted(glob.glob(str(cfg_path.parent / pattern)))
        if not matches:
            problems.append(ConfigProblem(file, "include", f"pattern {pattern!r} matches no file"))
        for match in matches:
            rel = os.path.relpath(match, cfg_path.parent)
            inc = _load_toml(Path(match), problems)
            if inc is None:
                continue
            for key in inc:
                if key not in ("services", "knowledge"):
                    problems.append(
                        ConfigProblem(rel, key, "unknown table", did_you_mean(key, ["services", "knowledge"]))
                    )
            for i, s in enumerate(_array(inc, "services", rel, problems)):
                raw_services.append((rel, f"services[{i}]", s))
            for i, k in enumerate(_array(inc, "knowledge", rel, problems)):
                knowledge_raw.append((rel, f"knowledge[{i}]", k))

    services = _services(raw_services, asks, problems)
    to_be = _to_be(data.get("journeys", {}), {s.key for s in services}, file, problems)
    knowledge = tuple(
        k for f, p, raw in knowledge_raw if (k := structure(raw, KnowledgeArticle, f, p, problems)) is not None
    )
    if teams:  # declared: every task names one of them
        where = {
            raw["key"]: (f, p)
            for f, p, raw in raw_services
            if isinstance(raw, Mapping) and isinstance(raw.get("key"), str)
        }
        for service in services:
            f, p = where.get(service.key, (file, "services"))
            for i, step in enumerate(service.plan):
                if step.task is not None and step.task.team and step.task.team not in teams:
                    problems.append(
                        ConfigProblem(
                            f,
                            f"{p}.plan[{i}].team",
                            f"unknown team {step.task.team!r}",
                            did_you_mean(step.task.team, teams),
                        )
                    )
    service_keys = {s.key for s in services}
    priorities = _priorities(data.get("priorities"), service_keys, file, problems)
    calendars = _calendars(data.get("calendars", {}), file, problems)
    service_levels = _service_levels(data.get("service_levels", []), service_keys, calendars, file, problems)
    from .teamwork import read_teamwork

    where = {
        raw["key"]: (f, p) for f, p, raw in raw_services if isinstance(raw, Mapping) and isinstance(raw.get("key"), str)
    }
    assignment, escalations = read_teamwork(
        data, teams, tuple(services), calendars, where, file, problems, structure=structure, did_you_mean=did_you_mean
    )
    if problems:
        raise ConfigError(problems)
    return Config(
        path=cfg_path,
        priorities=priorities,
        calendars=calendars,
        service_levels=service_levels,
        assignment=assignment,
        escalations=escalations,
        deployment=deployment,
        plugins=plugins,
        components=components,
        runner=runner,
        services=tuple(services),
        knowledge=knowledge,
        raw_services=tuple(raw_services),
        announcements=announcements,
        approvals=approvals,
        teams=teams,
        survey_rules=survey_rules,
        security=security,
        extra={
            k: data[k]
            for k in ("journeys", "reports", "portal", "webhooks", "cmdb", "relationships", "changes")
            if k in data
        },
        to_be=to_be,
    )


def _array(data: Mapping[str, Any], key: str, file: str, problems: list[ConfigProblem]) -> list[Any]:
    """``data[key]`` as an array of tables (``[[key]]``), or a problem and no tables."""
    raw = data.get(key, []) or []
    if not isinstance(raw, list):
        problems.append(ConfigProblem(file, key, f"expected an array of tables ([[{key}]])"))
        return []
    return raw


def _to_be(raw: Any, services: set[str], file: str, problems: list[ConfigProblem]) -> dict[str, ToBeJourney]:
    """``[journeys.SERVICE]`` tables: to-be journeys, each naming a service of the catalog."""
    out: dict[str, ToBeJourney] = {}
    if not isinstance(raw, Mapping):
        problems.append(ConfigProblem(file, "journeys", "expected tables [journeys.SERVICE] with stages = [...]"))
        return out
    for key, body in raw.items():
        if key not in services:
            problems.append(
                ConfigProblem(
                    file, f"journeys.{key}", f"no service {key!r} in the catalog", did_you_mean(key, services)
                )
            )
            continue
        journey = structure(body, ToBeJourney, file, f"journeys.{key}", problems)
        if journey is not None:
            out[key] = journey
    return out


def _priorities(raw: Any, services: set[str], file: str, problems: list[ConfigProblem]) -> PrioritySettings | None:
    """``[priorities]``: the matrix and the impacts it names, each service a key of the catalog."""
    if raw is None:
        return None
    settings = structure(raw, PrioritySettings, file, "priorities", problems)
    if settings is not None:
        for key in settings.service_impact:
            if key not in services:
                problems.append(
                    ConfigProblem(
                        file,
                        f"priorities.service_impact.{key}",
                        f"no service {key!r} in the catalog",
                        did_you_mean(key, services),
                    )
                )
    return settings


def _calendars(raw: Any, file: str, problems: list[ConfigProblem]) -> dict[str, CalendarSettings]:
    """``[calendars.NAME]``: each time zone, country and subdivision checked against what exists."""
    out: dict[str, CalendarSettings] = {}
    if not isinstance(raw, Mapping):
        problems.append(ConfigProblem(file, "calendars", "expected tables [calendars.NAME]"))
        return out
    for name, body in raw.items():
        path = f"calendars.{name}"
        if isinstance(body, Mapping) and isinstance(body.get("closed"), list):  # TOML dates, or ISO strings
            body = {**body, "closed": [d.isoformat() if hasattr(d, "isoformat") else d for d in body["closed"]]}
        cal = structure(body, CalendarSettings, file, path, problems)
        if cal is None:
            continue
        before = len(problems)
        _check_calendar(cal, file, path, problems)
        if len(problems) == before:
            out[str(name)] = cal
    defaults = [n for n, c in out.items() if c.default]
    if len(defaults) > 1:
        problems.append(
            ConfigProblem(file, f"calendars.{defaults[1]}.default", f"a second default calendar (first: {defaults[0]})")
        )
    return out


def _check_calendar(cal: CalendarSettings, file: str, path: str, problems: list[ConfigProblem]) -> None:
    import datetime as dt
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(cal.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(
            ConfigProblem(
                file,
                f"{path}.timezone",
                f"unknown time zone {cal.timezone!r}",
                did_you_mean(cal.timezone, zoneinfo.available_timezones()),
            )
        )
    if cal.country:
        import holidays

        supported = holidays.list_supported_countries()
        if cal.country not in supported:
            problems.append(
                ConfigProblem(
                    file, f"{path}.country", f"unknown country {cal.country!r}", did_you_mean(cal.country, supported)
                )
            )
        elif cal.subdivision and cal.subdivision not in supported[cal.country]:
            problems.append(
                ConfigProblem(
                    file,
                    f"{path}.subdivision",
                    f"unknown subdivision {cal.subdivision!r} of {cal.country}",
                    did_you_mean(cal.subdivision, supported[cal.country]),
                )
            )
    elif cal.subdivision:
        problems.append(
            ConfigProblem(file, f"{path}.subdivision", "a subdivision needs a country", "add country = ...")
        )
    for i, day in enumerate(cal.closed):
        try:
            dt.date.fromisoformat(day)
        except ValueError:
            problems.append(ConfigProblem(file, f"{path}.closed[{i}]", f"expected a date like 2026-12-24, got {day!r}"))


def _service_levels(
    raw: Any, services: set[str], calendars: Mapping[str, CalendarSettings], file: str, problems: list[ConfigProblem]
) -> tuple[ServiceLevelRule, ...]:
    """``[[service_levels]]``: each rule's services, kinds and calendar checked against the config."""
    if not isinstance(raw, list):
        problems.append(ConfigProblem(file, "service_levels", "expected an array of tables ([[service_levels]])"))
        return ()
    rules = []
    for i, body in enumerate(raw):
        path = f"service_levels[{i}]"
        rule = structure(body, ServiceLevelRule, file, path, problems)
        if rule is None:
            continue
        for j, key in enumerate(rule.services):
            if key not in services:
                problems.append(
                    ConfigProblem(
                        file, f"{path}.services[{j}]", f"no service {key!r} in the catalog", did_you_mean(key, services)
                    )
                )
        for j, kind in enumerate(rule.kinds):
            if kind not in DemandKind.__members__.values():
                problems.append(
                    ConfigProblem(
                        file, f"{path}.kinds[{j}]", f"unknown demand kind {kind!r}", did_you_mean(kind, DemandKind)
                    )
                )
        if rule.calendar and rule.calendar not in calendars:
            problems.append(
                ConfigProblem(
                    file, f"{path}.calendar", f"no calendar {rule.calendar!r}", did_you_mean(rule.calendar, calendars)
                )
            )
        if rule.response is None and rule.resolution is None:
            problems.append(ConfigProblem(file, path, "a rule without targets", "set response, resolution or both"))
        rules.append(rule if rule.name else attrs.evolve(rule, name=f"rule {i + 1}"))
    return tuple(rules)


def _component(table: str, name: str, body: Any, file: str, problems: list[ConfigProblem]) -> ComponentConfig | None:
    path = join_path(table, name)
    if not isinstance(body, Mapping):
        problems.append(ConfigProblem(file, path, f"expected a table with 'use = \"...\"', got {body!r}"))
        return None
    use = body.get("use")
    if use is None:
        # A table named after a component may omit ``use``: [channels.log] means use = "log".
        use = name
    if not isinstance(use, str):
        problems.append(ConfigProblem(file, join_path(path, "use"), f"expected a component name, got {use!r}"))
        return None
    settings = {k: v for k, v in body.items() if k != "use"}
    return ComponentConfig(table=table, name=name, use=use, settings=settings, file=file)


def _asks(raw: Any, file: str, problems: list[ConfigProblem]) -> dict[str, Ask]:
    asks = dict(STANDARD_ASKS)
    if not isinstance(raw, Mapping):
        problems.append(ConfigProblem(file, "asks", "expected a table of named asks"))
        return asks
    for name, body in raw.items():
        if isinstance(body, Mapping):
            ask = structure({"name": name, **body}, Ask, file, f"asks.{name}", problems)
            if ask is not None:
                asks[name] = ask
        else:
            problems.append(ConfigProblem(file, f"asks.{name}", "expected a table (type, label, ...)"))
    return asks


def _services(
    raw_services: Sequence[tuple[str, str, Any]], asks: Mapping[str, Ask], problems: list[ConfigProblem]
) -> list[Service]:
    services: list[Service] = []
    seen: dict[str, str] = {}
    for file, path, raw in raw_services:
        if not isinstance(raw, Mapping):
            problems.append(ConfigProblem(file, path, "expected a table"))
            continue
        body = dict(raw)
        ask_list = []
        asks_raw = body.pop("asks", []) or []
        if not isinstance(asks_raw, list):
            problems.append(ConfigProblem(file, f"{path}.asks", "expected a list of ask names or tables"))
            asks_raw = []
        for i, a in enumerate(asks_raw):
            if isinstance(a, str):
                if a in asks:
                    ask_list.append(asks[a])
                else:
                    ask_list.append(Ask(name=a, label=a.replace("_", " ").capitalize()))
            elif isinstance(a, Mapping):
                ask = structure(a, Ask, file, f"{path}.asks[{i}]", problems)
                if ask is not None:
                    ask_list.append(ask)
            else:
                problems.append(ConfigProblem(file, f"{path}.asks[{i}]", "expected an ask name or a table"))
        plan_raw = body.pop("plan", []) or []
        steps = []
        if not isinstance(plan_raw, list):
            problems.append(ConfigProblem(file, f"{path}.plan", "expected a list of steps"))
            plan_raw = []
        for i, step in enumerate(plan_raw):
            plan_step = _plan_step(step, file, f"{path}.plan[{i}]", problems)
            if plan_step is not None:
                steps.append(plan_step)
        if steps and steps[0].task is not None and len(steps) == len(plan_raw):
            problems.append(
                ConfigProblem(
                    file,
                    f"{path}.plan[0]",
                    "a plan cannot begin with a task yet",
                    "put an action first (an approval, or a notify that tells the customer what happens)",
                )
            )
        kind = body.get("kind", "value")
        if kind not in DemandKind.__members__.values():
            problems.append(
                ConfigProblem(
                    file, f"{path}.kind", f"unknown demand kind {kind!r}", did_you_mean(str(kind), DemandKind)
                )
            )
            body.pop("kind", None)
        before = len(problems)
        service = structure(body, Service, file, path, problems)
        if service is None or len(problems) > before:
            continue
        service = attrs.evolve(service, asks=tuple(ask_list), plan=tuple(steps))
        if service.key in seen:
            problems.append(
                ConfigProblem(
                    file,
                    f"{path}.key",
                    f"duplicate service key {service.key!r}",
                    f"first defined in {seen[service.key]}",
                )
            )
            continue
        seen[service.key] = f"{file}: {path}"
        services.append(service)
    return services


def _plan_step(raw: Any, file: str, path: str, problems: list[ConfigProblem]) -> PlanStep | None:
    """A plan step: ``action = "..."`` and its parameters, or ``task = "..."`` for people to do."""
    if not isinstance(raw, Mapping) or not (isinstance(raw.get("action"), str) or "task" in raw):
        problems.append(ConfigProblem(file, path, 'expected a table with action = "..." or task = "..."'))
        return None
    if "action" in raw and "task" in raw:
        problems.append(
            ConfigProblem(file, path, "a step is either an action or a task, not both", "split it into two steps")
        )
        return None
    if "action" in raw:
        return PlanStep(action=raw["action"], params={k: v for k, v in raw.items() if k != "action"})
    body = dict(raw)
    milestones = body.get("milestones")
    if isinstance(milestones, list):  # a milestone is a name or a table (name, notify, says)
        body["milestones"] = [{"name": m} if isinstance(m, str) else m for m in milestones]
    task = structure(body, HumanTask, file, path, problems)
    return None if task is None else PlanStep(task=task)


# --------------------------------------------------------------------------- resolving


def resolve(config: Config, registry: Mapping[str, Mapping[str, Component]]) -> Config:
    """Check every ``use`` against the loaded components and build their settings.

    ``registry`` maps a family (``channel``, ``directory``, ...) to its components by
    name. Returns a new Config whose component configs hold settings instances.
    """
    problems: list[ConfigProblem] = []
    components: dict[str, dict[str, ComponentConfig]] = {}
    for table, family in COMPONENT_TABLES.items():
        resolved: dict[str, ComponentConfig] = {}
        for name, cc in config.family(table).items():
            r = _resolve_one(cc, registry.get(family, {}), family, problems)
            if r is not None:
                resolved[name] = r
        components[table] = resolved
    runner = _resolve_one(config.runner, registry.get("runner", {}), "runner", problems) or config.runner

    services = []
    for (file, path, _raw), service in zip(config.raw_services, config.services, strict=False):
        steps = []
        for i, step in enumerate(service.plan):
            if step.task is not None:  # done by people: no action to look up
                steps.append(step)
                continue
            found = _plan_action(config, registry, step.action, file, f"{path}.plan[{i}].action", problems)
            if found is None:
                continue
            source, record = found
            params_cls = record.params if isinstance(record, ActionComponent) else NoSettings
            params = structure(step.params, params_cls, file, f"{path}.plan[{i}]", problems)
            steps.append(attrs.evolve(step, resolved=params, source=source))
        services.append(attrs.evolve(service, plan=tuple(steps)))
    channels = config.family("channels")  # a table whose settings failed still names a channel
    if config.deployment.default_channel not in {*channels, "log"}:
        problems.append(
            ConfigProblem(
                str(config.path),
                "deployment.default_channel",
                f"no channel named {config.deployment.default_channel!r}",
                did_you_mean(config.deployment.default_channel, {*channels, "log"}),
            )
        )
    if problems:
        raise ConfigError(problems)
    return attrs.evolve(config, components=components, runner=runner, services=tuple(services))


def _plan_action(
    config: Config,
    registry: Mapping[str, Mapping[str, Component]],
    name: str,
    file: str,
    where: str,
    problems: list[ConfigProblem],
) -> tuple[str, Component] | None:
    """What a plan step's ``action = NAME`` uses, as ``(source, record)``; ``None`` after a problem.

    The rule, in order: the ``[actions.NAME]`` table; else the one table whose ``use`` is
    NAME; else the component NAME with its default settings, which must then build from
    nothing (a required setting is a problem here, not a TypeError in every job later).
    """
    tables = config.family("actions")
    known = registry.get("action", {})
    if name in tables:
        record = known.get(tables[name].use)
        # an unknown ``use`` was reported at the table; saying it again here would mislead
        return (f"actions.{name}", record) if record is not None else None
    users = sorted(n for n, cc in tables.items() if cc.use == name)
    if len(users) > 1:
        problems.append(
            ConfigProblem(
                file,
                where,
                f"{name!r} is ambiguous: it is the use of "
                + " and ".join(f"[actions.{n}]" for n in users)
                + "; name the table the step means",
                f"did you mean {users[0]!r}?",
            )
        )
        return None
    if users:
        record = known.get(name)
        return (f"actions.{users[0]}", record) if record is not None else None
    record = known.get(name)
    if record is None:
        problems.append(ConfigProblem(file, where, f"unknown action {name!r}", did_you_mean(name, {*known, *tables})))
        return None
    missing: list[ConfigProblem] = []
    structure({}, record.settings, file, f"actions.{name}", missing)
    if missing:
        required = [f.name for f in attrs.fields(record.settings) if f.default is attrs.NOTHING]
        problems.append(
            ConfigProblem(
                file,
                where,
                f"action {name!r} has no [actions.{name}] table and cannot run on its default settings"
                + (f" (it needs {', '.join(required)})" if required else f" ({missing[0].message})"),
                f'add [actions.{name}] with use = "{name}" and its settings',
            )
        )
        return None
    return name, record


def _resolve_one(
    cc: ComponentConfig, known: Mapping[str, Component], family: str, problems: list[ConfigProblem]
) -> ComponentConfig | None:
    record = known.get(cc.use)
    if record is None:
        where = join_path(cc.path, "use") if cc.name else "runner.use"
        problems.append(
            ConfigProblem(
                cc.file,
                where,
                f"no installed plugin provides a {family} named {cc.use!r}",
                did_you_mean(cc.use, known),
            )
        )
        return None
    path = cc.path if cc.name else "runner"
    before = len(problems)
    settings = structure(cc.settings, record.settings, cc.file, path, problems)
    if len(problems) > before:
        for i in range(before, len(problems)):
            p = problems[i]
            if record.plugin and record.plugin != "builtin":
                problems[i] = attrs.evolve(
                    p, message=f"{p.message} (settings of {family} {cc.use!r} from plugin {record.plugin})"
                )
        return None
    return attrs.evolve(cc, settings=settings, record=record)
