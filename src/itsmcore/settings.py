"""The deployment's settings: the attrs classes the core's own config tables structure into.

Each class's docstring names its table, and each field's ``doc`` metadata is its line in the
config reference; :mod:`itsmcore.config` reads the file into them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from .components import Component
from .model import KnowledgeArticle, Service, Stage
from .model._convert import to_tuple


@attrs.frozen(kw_only=True)
class DeploymentSettings:
    """The ``[deployment]`` table."""

    name: str = attrs.field(default="itsm", metadata={"doc": "Shown to customers and in reports."})
    database: str = attrs.field(
        default="sqlite:///itsm.db",
        metadata={"doc": "SQLAlchemy URL; a relative SQLite path is relative to the config file."},
    )
    secret_file: str = attrs.field(
        default=".itsm-secret",
        metadata={"doc": "File holding the signing secret (created on first use, mode 0600)."},
    )
    default_channel: str = attrs.field(
        default="log", metadata={"doc": "Channel used when a customer has no reachable preferred channel."}
    )
    public_url: str = attrs.field(default="http://127.0.0.1:8000", metadata={"doc": "Base of links sent out."})


@attrs.frozen(kw_only=True)
class PluginSettings:
    """The ``[plugins]`` table: which plugins to load besides the builtins."""

    modules: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "Importable modules to register as plugins."}
    )
    disable: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "Entry point names not to load."}
    )


@attrs.frozen(kw_only=True)
class AnnouncementSettings:
    """The ``[announcements]`` table: how outages are followed through."""

    follow_up_after_hours: float = attrs.field(
        default=48.0, metadata={"doc": "Follow up affected customers who neither confirmed nor denied the fix by then."}
    )
    confirm_link_days: float = attrs.field(default=7.0, metadata={"doc": "How long a confirm link stays valid."})
    batch_size: int = attrs.field(
        default=5000, metadata={"doc": "Subscribers notified per transaction when an announcement fans out."}
    )


@attrs.frozen(kw_only=True)
class TeamSettings:
    """A ``[teams.KEY]`` table, one per team: who people's plan steps (tasks) are assigned to."""

    name: str = attrs.field(default="", metadata={"doc": "The team's name as agents see it; the key if empty."})
    description: str = attrs.field(default="", metadata={"doc": "What the team does, for the desk."})


@attrs.frozen(kw_only=True)
class ApprovalSettings:
    """The ``[approvals]`` table: how approvers are asked, and reminded."""

    link_days: float = attrs.field(
        default=7.0,
        validator=lambda _i, _a, v: _positive("link_days", v),
        metadata={"doc": "How long the approve and decline links in an approver's message stay valid."},
    )
    remind_after_hours: float = attrs.field(
        default=24.0,
        validator=lambda _i, _a, v: _positive("remind_after_hours", v, zero=True),
        metadata={
            "doc": "Remind the approver once if the request still waits for them after this long; 0 for no reminder."
        },
    )


def _positive(name: str, value: float, *, zero: bool = False) -> None:
    if value < 0 or (value == 0 and not zero):
        raise ValueError(f"{name}: expected {'0 or more' if zero else 'more than 0'}, got {value!r}")


@attrs.frozen(kw_only=True)
class SurveyRules:
    """The ``[survey_rules]`` table: when customers are asked how it went."""

    method: str = attrs.field(default="nps", metadata={"doc": "Survey method of transactional surveys."})
    period_days: float = attrs.field(default=30.0, metadata={"doc": "At most one survey per customer in this period."})
    sample: float = attrs.field(default=1.0, metadata={"doc": "Share of eligible outcomes that get a survey (0..1)."})
    link_days: float = attrs.field(default=14.0, metadata={"doc": "How long a survey link stays valid."})
    review_max_chars: int = attrs.field(
        default=1000, metadata={"doc": "Longest review a customer may write of a service, in characters."}
    )


def _at_least(low: float) -> Any:
    def check(_inst: Any, attribute: attrs.Attribute[Any], value: float) -> None:
        if value < low:
            raise ValueError(f"{attribute.name}: expected at least {low:g}, got {value!r}")

    return check


@attrs.frozen(kw_only=True)
class SecuritySettings:
    """The ``[security]`` table: how sign-ins are protected from password guessing.

    Failed sign-ins are counted in the database, so every process of the deployment
    (each ``itsm serve`` worker, on every machine) sees the same count.
    """

    sign_in_attempts: int = attrs.field(
        default=5,
        validator=_at_least(1),
        metadata={
            "doc": "Failed sign-ins allowed per directory entry within the window (every spelling of a login, such as "
            "the id, the mail address, DOMAIN\\name or the UPN, counts together; a login no directory knows counts "
            "as typed); then that entry is refused, without its password being checked, until the oldest failure "
            "leaves the window. A successful sign-in clears them; `itsm customer unlock` clears them by hand."
        },
    )
    sign_in_attempts_per_address: int = attrs.field(
        default=50,
        validator=_at_least(0),
        metadata={
            "doc": "Failed sign-ins allowed from one network address, all logins together, within the window (one "
            "address trying many logins); 0 turns this check off. Higher than sign_in_attempts: an office behind "
            "one address shares it."
        },
    )
    sign_in_window_minutes: float = attrs.field(
        default=15.0,
        validator=_at_least(0.1),
        metadata={"doc": "The window, in minutes, in which failed sign-ins are counted."},
    )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """Seconds in "90s", "5m", "2h", "3d" or "1w"; ValueError otherwise."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"expected a duration like 90s, 5m, 2h or 3d, got {text!r}")
    return float(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def _duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


@attrs.frozen(kw_only=True)
class ToBeStage:
    """One stage of a to-be journey: how it should feel when it works as designed."""

    stage: Stage = attrs.field(metadata={"doc": "A journey stage (discover, engage, acknowledge, fulfil, ...)."})
    within: str | None = attrs.field(
        default=None,
        validator=lambda _i, _a, v: _duration(v),
        metadata={"doc": "Target time in this stage, e.g. 2m or 1d (median journeys above it are a gap)."},
    )
    effort: int | None = attrs.field(
        default=None, metadata={"doc": "Target customer effort in this stage (actions and fields typed)."}
    )
    channels: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "Channels this stage should happen in."}
    )

    @property
    def seconds(self) -> float | None:
        return parse_duration(self.within) if self.within else None


@attrs.frozen(kw_only=True)
class ToBeJourney:
    """``[journeys.SERVICE]``: the designed (to-be) journey of a service, compared with the as-is map."""

    stages: tuple[ToBeStage, ...] = attrs.field(
        converter=to_tuple, metadata={"doc": "The stages in order, each with its targets."}
    )


@attrs.frozen(kw_only=True)
class ComponentConfig:
    """One selected component: ``[channels.sms] use = "apprise" ...``.

    ``settings`` is the raw table until :func:`resolve`, then an instance of the
    component's settings class, and ``record`` is the component record.
    """

    table: str
    name: str
    use: str
    settings: Any
    file: str
    record: Component | None = None

    @property
    def path(self) -> str:
        return f"{self.table}.{self.name}"


@attrs.frozen(kw_only=True)
class Config:
    """A deployment config as read from its file (and its included catalog files)."""

    path: Path
    deployment: DeploymentSettings
    plugins: PluginSettings
    components: Mapping[str, Mapping[str, ComponentConfig]]
    runner: ComponentConfig
    services: tuple[Service, ...]
    knowledge: tuple[KnowledgeArticle, ...]
    raw_services: tuple[tuple[str, str, Mapping[str, Any]], ...]
    announcements: AnnouncementSettings = attrs.field(factory=AnnouncementSettings)
    approvals: ApprovalSettings = attrs.field(factory=ApprovalSettings)
    #: ``[teams.KEY]``: when any are declared, every task's team must be one of them.
    teams: Mapping[str, TeamSettings] = attrs.field(factory=dict)
    survey_rules: SurveyRules = attrs.field(factory=SurveyRules)
    security: SecuritySettings = attrs.field(factory=SecuritySettings)
    extra: Mapping[str, Any] = attrs.field(factory=dict)
    to_be: Mapping[str, ToBeJourney] = attrs.field(factory=dict)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def family(self, table: str) -> Mapping[str, ComponentConfig]:
        return self.components.get(table, {})

    @property
    def uses(self) -> set[str]:
        """Every component name the config selects (to filter plugins before loading)."""
        names = {c.use for fam in self.components.values() for c in fam.values()} | {self.runner.use}
        for _file, _path, raw in self.raw_services:
            for step in raw.get("plan", []) or []:
                if isinstance(step, Mapping) and isinstance(step.get("action"), str):
                    names.add(step["action"])
        return names

    def service(self, key: str) -> Service | None:
        for s in self.services:
            if s.key == key:
                return s
        return None
