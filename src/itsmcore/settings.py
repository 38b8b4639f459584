"""The deployment's settings: the attrs classes the core's own config tables structure into.

Each class's docstring names its table, and each field's ``doc`` metadata is its line in the
config reference; :mod:`itsmcore.config` reads the file into them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .components import Component
from .model import KnowledgeArticle, Service, Stage
from .model._convert import to_tuple

if TYPE_CHECKING:
    from .calendars import WorkingCalendar


@attrs.frozen(kw_only=True)
class DeploymentSettings:
    """The ``[deployment]`` table."""

    name: str = attrs.field(default="itsm", metadata={"doc": "Shown to customers and in reports."})
    database: str = attrs.field(
        default="sqlite:///itsm.db",
        metadata={
            "doc": "SQLAlchemy URL; a relative SQLite path is relative to the config file, also in an SQLite "
            "URI filename (``sqlite:///file:PATH?mode=ro&uri=true``)."
        },
    )
    secret_file: str = attrs.field(
        default=".itsm-secret",
        metadata={"doc": "File holding the signing secret (created on first use, mode 0600)."},
    )
    default_channel: str = attrs.field(
        default="log", metadata={"doc": "Channel used when a customer has no reachable preferred channel."}
    )
    language: str = attrs.field(
        default="en",
        metadata={
            "doc": "Language of customer-facing text when neither the customer's preferences nor the directory "
            "name one (a locale code: en, fr, de_CH)."
        },
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
    """A ``[teams.KEY]`` table, one per team: who owns demands and people's plan steps (tasks).

    Its members are the directory's members of ``group`` and those listed in ``members``;
    a demand or task may be given to a member only. ``assign`` names the policy that picks
    an agent for the team's new demands (see ``[assignment]``).
    """

    name: str = attrs.field(default="", metadata={"doc": "The team's name as agents see it; the key if empty."})
    description: str = attrs.field(default="", metadata={"doc": "What the team does, for the desk."})
    group: str = attrs.field(
        default="", metadata={"doc": "The directory group whose members are the team's agents (none if empty)."}
    )
    members: tuple[str, ...] = attrs.field(
        default=(),
        converter=to_tuple,
        metadata={"doc": "Directory ids of agents in the team besides the group's members."},
    )
    lead: str = attrs.field(
        default="", metadata={"doc": 'The team lead\'s directory id: escalations `to = "lead"` reach them.'}
    )
    assign: str = attrs.field(
        default="",
        metadata={
            "doc": "How the team's new demands get an agent: `by_service` (none: the team's queue), `round_robin`,"
            " `least_open_work`; `[assignment] policy` if empty."
        },
    )
    notify: tuple[str, ...] = attrs.field(
        default=(),
        converter=to_tuple,
        metadata={
            "doc": "Who is told of service-level warnings and breaches on the team's unassigned tasks: directory ids"
            " (a team mailbox, its lead), each reached through their preferred channel."
        },
    )


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


#: Impact and urgency levels, most pressing first: the rows and columns of the priority matrix.
LEVELS = ("high", "medium", "low")


def _matrix(value: Any) -> tuple[tuple[int, ...], ...]:
    rows = tuple(tuple(row) for row in value)
    if len(rows) != len(LEVELS) or any(len(row) != len(LEVELS) for row in rows):
        raise ValueError(
            f"matrix: expected {len(LEVELS)} rows (impact {', '.join(LEVELS)}) of {len(LEVELS)} priorities"
        )
    for row in rows:
        for p in row:
            if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 4:
                raise ValueError(f"matrix: expected priorities from 1 (critical) to 4 (low), got {p!r}")
    return rows


def _level(name: str) -> Any:
    def check(_inst: Any, _attr: Any, value: Any) -> None:
        values = [value] if isinstance(value, str) else list(value.values())
        for v in values:
            if v not in LEVELS:
                raise ValueError(f"{name}: expected one of {', '.join(LEVELS)}, got {v!r}")

    return check


@attrs.frozen(kw_only=True)
class PrioritySettings:
    """The ``[priorities]`` table: a demand's priority from its impact and urgency.

    The builtin ``itsm_prioritise`` looks the priority up in ``matrix``: the impact is the
    service's (``service_impact``, else ``default_impact``), the urgency the customer's role's
    (``role_urgency``, where VIPs go, else ``default_urgency``). A priority given at intake
    (by an agent, or by ``itsm_classify``) is kept. Without this table every demand gets
    priority 3.
    """

    matrix: tuple[tuple[int, ...], ...] = attrs.field(
        default=((1, 2, 3), (2, 3, 4), (3, 4, 4)),
        converter=_matrix,
        metadata={
            "doc": "Priorities 1 (critical) to 4 (low): one row per impact (high, medium, low), one column per "
            "urgency (high, medium, low)."
        },
    )
    default_impact: str = attrs.field(
        default="medium", validator=_level("default_impact"), metadata={"doc": "Impact of a service not listed."}
    )
    default_urgency: str = attrs.field(
        default="medium", validator=_level("default_urgency"), metadata={"doc": "Urgency of a role not listed."}
    )
    service_impact: Mapping[str, str] = attrs.field(
        factory=dict,
        validator=_level("service_impact"),
        metadata={"doc": 'Each service\'s default impact, by service key: `{ crm = "high" }`.'},
    )
    role_urgency: Mapping[str, str] = attrs.field(
        factory=dict,
        validator=_level("role_urgency"),
        metadata={"doc": 'Urgency by the customer\'s directory role, e.g. VIPs: `{ executive = "high" }`.'},
    )

    def priority(self, impact: str, urgency: str) -> int:
        return self.matrix[LEVELS.index(impact)][LEVELS.index(urgency)]


def _days(value: Any) -> tuple[str, ...]:
    from .calendars import DAY_NAMES

    days = tuple(str(d).lower()[:3] for d in value)
    for d in days:
        if d not in DAY_NAMES:
            raise ValueError(f"days: expected day names ({', '.join(DAY_NAMES)}), got {d!r}")
    return days


def _hours(_inst: Any, _attr: Any, value: str) -> None:
    from .calendars import parse_hours

    try:
        parse_hours(value)
    except ValueError as e:
        raise ValueError(f"hours: {e}") from None


def _dates(value: Any) -> tuple[str, ...]:
    return tuple(str(d) for d in value)


@attrs.frozen(kw_only=True)
class CalendarSettings:
    """A ``[calendars.NAME]`` table, one per calendar: when an office works.

    Every "working" figure uses a calendar: the due dates of service levels, the day a
    task's "3 working days" works out to. The first calendar declared is the deployment's
    default unless another says ``default = true``; without any, working days are Monday
    to Friday in UTC with no holidays.
    """

    timezone: str = attrs.field(default="UTC", metadata={"doc": 'IANA time zone of the office, e.g. "Europe/London".'})
    days: tuple[str, ...] = attrs.field(
        default=("mon", "tue", "wed", "thu", "fri"), converter=_days, metadata={"doc": "Working days."}
    )
    hours: str = attrs.field(
        default="09:00-17:00",
        validator=_hours,
        metadata={
            "doc": 'Working hours of each working day, local time: "09:00-17:30", or "08:00-12:00, 13:00-17:00".'
        },
    )
    country: str = attrs.field(
        default="",
        metadata={"doc": 'Public holidays of this country (ISO code, e.g. "GB"), from the holidays package.'},
    )
    subdivision: str = attrs.field(
        default="", metadata={"doc": 'The country\'s subdivision whose holidays apply, e.g. "ENG" or "SCT".'}
    )
    closed: tuple[str, ...] = attrs.field(
        default=(),
        converter=_dates,
        metadata={"doc": "Extra closure days, as dates: `[2026-12-24, 2026-12-31]`."},
    )
    default: bool = attrs.field(default=False, metadata={"doc": "The deployment's default calendar."})

    def build(self, name: str) -> WorkingCalendar:
        """The working calendar these settings describe."""
        import datetime as dt

        from .calendars import WorkingCalendar

        return WorkingCalendar(
            name,
            timezone=self.timezone,
            days=self.days,
            hours=self.hours,
            country=self.country,
            subdivision=self.subdivision,
            closed=[dt.date.fromisoformat(d) for d in self.closed],
        )


_TARGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|h|d)\s*$")
_TARGET_UNIT = {"m": "working minutes", "h": "working hours", "d": "working days"}


def parse_target(text: str) -> tuple[float, float]:
    """``"30m"``, ``"4h"`` or ``"2d"`` of working time as ``(seconds, working days)``; ValueError otherwise.

    A working day is the calendar's (9 to 5.30 is 8.5 hours), so days are kept apart until
    the calendar is known. Targets from 0 to a year: 365 days, 8,760 hours.
    """
    m = _TARGET.match(str(text))
    if not m:
        if str(text).strip().startswith("-"):
            raise ValueError(f"a target cannot be shorter than zero, got {text!r}")
        raise ValueError(f"expected working time like 30m, 4h or 2d, got {text!r}")
    amount, unit = float(m.group(1)), m.group(2)
    seconds = {"m": 60.0, "h": 3600.0, "d": 0.0}[unit] * amount
    if seconds > 365 * 86400 or (unit == "d" and amount > 365):
        raise ValueError(f"a target cannot be longer than a year, got {text!r}")
    return seconds, amount if unit == "d" else 0.0


def _target(name: str) -> Any:
    def check(_inst: Any, _attr: Any, value: str | None) -> None:
        if value is not None:
            try:
                parse_target(value)
            except ValueError as e:
                raise ValueError(f"{name}: {e}") from None

    return check


def _share(_inst: Any, _attr: Any, value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f"warn_at: expected a share between 0 and 1 (0.75 warns at three quarters), got {value!r}")


def _pauses(value: Any) -> tuple[str, ...]:
    out = tuple(value)
    for v in out:
        if v not in ("customer", "approver"):
            raise ValueError(f"pause_when: expected customer and/or approver, got {v!r}")
    return out


def _priorities(value: Any) -> tuple[int, ...]:
    out = tuple(value)
    for p in out:
        if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 4:
            raise ValueError(f"priorities: expected priorities from 1 to 4, got {p!r}")
    return out


@attrs.frozen(kw_only=True)
class ServiceLevelRule:
    """A ``[service_levels]`` rule, written ``[[service_levels]]`` once per rule: targets for the demands it matches.

    A rule matches a demand when each of ``services``, ``kinds`` and ``priorities`` it sets
    contains the demand's; an empty one matches any. When several rules match, the most
    specific wins (one naming services beats one naming priorities, which beats one
    naming kinds only; then the one setting more of them), and among equals the first in
    the file; ``itsm check`` lists which rule applies to which services. Targets are in
    working time of the rule's calendar: ``30m``, ``4h``, ``2d`` (working days).
    """

    name: str = attrs.field(default="", metadata={"doc": "What reports call the rule; `rule N` if empty."})
    services: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "Service keys it applies to; any if empty."}
    )
    kinds: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "Demand kinds (value, failure, information); any if empty."}
    )
    priorities: tuple[int, ...] = attrs.field(
        default=(), converter=_priorities, metadata={"doc": "Priorities (1 to 4) it applies to; any if empty."}
    )
    response: str | None = attrs.field(
        default=None,
        validator=_target("response"),
        metadata={"doc": "First response target: until someone from IT acts on the demand (none if unset)."},
    )
    resolution: str | None = attrs.field(
        default=None,
        validator=_target("resolution"),
        metadata={"doc": "Resolution target: until the outcome (done, fixed, answered) (none if unset)."},
    )
    calendar: str = attrs.field(
        default="", metadata={"doc": "The `[calendars.NAME]` its working time is counted in; the default if empty."}
    )
    warn_at: float = attrs.field(
        default=0.75, validator=_share, metadata={"doc": "Share of a target at which the assignee or team is warned."}
    )
    notify: tuple[str, ...] = attrs.field(
        default=(),
        converter=to_tuple,
        metadata={
            "doc": "Directory ids told of warnings and breaches when the demand has no task with an assignee or a"
            " team to tell."
        },
    )
    pause_when: tuple[str, ...] = attrs.field(
        default=("customer", "approver"),
        converter=_pauses,
        metadata={"doc": "The clocks stop while the demand waits for the `customer`, an `approver`, or either."},
    )

    @property
    def specificity(self) -> tuple[int, int]:
        """How specific the rule is: higher wins (services, then priorities, then kinds; then how many are set)."""
        return (
            4 * bool(self.services) + 2 * bool(self.priorities) + bool(self.kinds),
            -(len(self.services) + len(self.priorities) + len(self.kinds)),
        )

    def matches(self, service: str | None, kind: str, priority: int) -> bool:
        return (
            (not self.services or (service or "") in self.services)
            and (not self.kinds or kind in self.kinds)
            and (not self.priorities or priority in self.priorities)
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


#: The assignment policies the builtin ``itsm_assign`` knows, with what each does.
POLICIES: Mapping[str, str] = {
    "by_service": "the service's team (else the default team); no agent: the demand waits in the team's queue",
    "round_robin": "the service's team, and its members in turn",
    "least_open_work": "the service's team, and the member with the fewest open demands",
}

#: What an escalation rule may fire on.
TRIGGERS: Mapping[str, str] = {
    "warning": "a service-level warning recorded by the sweep",
    "breach": "a service-level breach recorded by the sweep",
    "approval": "an approval still pending after `after` working time",
    "dead_job": "a job of the demand that failed for good (dead)",
}

#: Whom an escalation rule may reach.
TARGETS: Mapping[str, str] = {
    "team": "the team named by `team` (its `notify` people, else its lead, else its members)",
    "lead": "the lead of the team named by `team`, else of the demand's team",
    "manager": "the manager of the approver the demand waits for, else of the agent working on it",
}


@attrs.frozen(kw_only=True)
class AssignmentSettings:
    """The ``[assignment]`` table: who owns a new demand.

    At intake every demand gets a team, and perhaps an agent, through the ``itsm_assign``
    hook. The builtin implementation runs last: the team is the service's (its ``team``),
    else ``default_team``, and the team's ``assign`` (else ``policy``) picks the agent. A
    policy that fails leaves the demand with the service's team, and the failure on its
    journey. Without teams, demands are not assigned.
    """

    policy: str = attrs.field(
        default="by_service",
        metadata={"doc": "The builtin policy: " + "; ".join(f"`{k}`: {v}" for k, v in POLICIES.items()) + "."},
    )
    default_team: str = attrs.field(
        default="",
        metadata={"doc": "The team of demands whose service names none (and of demands without a service)."},
    )


@attrs.frozen(kw_only=True)
class EscalationRule:
    """An ``[escalations]`` rule, written ``[[escalations]]`` once per rule: when a demand needs someone above the work.

    Each rule fires once per demand and person reached, whoever runs the sweep and however
    often; each escalation is a journey event behind the scenes, and a message to each
    person through their preferred channel. Service-level warnings and breaches and dead
    jobs escalate as they happen; pending approvals when ``itsm sla sweep`` (or ``itsm
    escalations sweep``) runs.
    """

    name: str = attrs.field(default="", metadata={"doc": "What the journey calls the rule; `escalation N` if empty."})
    when: str = attrs.field(
        metadata={"doc": "What fires it: " + "; ".join(f"`{k}`: {v}" for k, v in TRIGGERS.items()) + "."},
    )
    to: str = attrs.field(
        metadata={"doc": "Whom it reaches: " + "; ".join(f"`{k}`: {v}" for k, v in TARGETS.items()) + "."},
    )
    team: str = attrs.field(default="", metadata={"doc": "The `[teams.KEY]` team `to` names (required for `team`)."})
    after: str = attrs.field(
        default="",
        metadata={"doc": "For `approval`: how long it may wait, in working time (`4h`, `2d`); required there only."},
    )
    calendar: str = attrs.field(
        default="", metadata={"doc": "The `[calendars.NAME]` that `after` counts in; the default if empty."}
    )
    services: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "Service keys it applies to; any if empty."}
    )
    priorities: tuple[int, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "Priorities (1 to 4) it applies to; any if empty."}
    )

    def matches(self, service: str | None, priority: int) -> bool:
        return (not self.services or (service or "") in self.services) and (
            not self.priorities or priority in self.priorities
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
        return f"{self.table}.{self.name}" if self.name else self.table


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
    #: ``[priorities]``: ``None`` when the table is absent (every demand gets priority 3).
    priorities: PrioritySettings | None = None
    #: ``[calendars.NAME]``, in the order declared.
    calendars: Mapping[str, CalendarSettings] = attrs.field(factory=dict)
    #: ``[[service_levels]]``, in the order declared.
    service_levels: tuple[ServiceLevelRule, ...] = ()
    #: ``[assignment]``: who owns new demands.
    assignment: AssignmentSettings = attrs.field(factory=lambda: AssignmentSettings())
    #: ``[[escalations]]``, in the order declared.
    escalations: tuple[EscalationRule, ...] = ()

    @property
    def default_calendar(self) -> str | None:
        """The name of the default calendar: the one marked ``default``, else the first; ``None`` without any."""
        for name, cal in self.calendars.items():
            if cal.default:
                return name
        return next(iter(self.calendars), None)

    def service_level(self, service: str | None, kind: str, priority: int) -> tuple[int, ServiceLevelRule] | None:
        """The rule that applies (its index and itself): the most specific match, the first among equals."""
        best: tuple[int, ServiceLevelRule] | None = None
        for i, rule in enumerate(self.service_levels):
            if rule.matches(service, kind, priority) and (best is None or rule.specificity > best[1].specificity):
                best = (i, rule)
        return best

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
