"""Teams, assignment and escalation settings: ``[assignment]``, ``[[escalations]]`` and their checks.

``[teams.KEY]`` itself is :class:`~itsmcore.settings.TeamSettings`; this module holds the
tables that build on it and checks, when the config is read, that every team they name
exists (with a close match when it does not).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .model._convert import to_tuple

if TYPE_CHECKING:
    from .errors import ConfigProblem
    from .model import Service
    from .settings import CalendarSettings, TeamSettings

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
    """An ``[[escalations]]`` rule: when a demand needs someone above the work, and who that is.

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


def read_teamwork(
    data: Mapping[str, Any],
    teams: Mapping[str, TeamSettings],
    services: tuple[Service, ...],
    calendars: Mapping[str, CalendarSettings],
    where: Mapping[str, tuple[str, str]],
    file: str,
    problems: list[ConfigProblem],
) -> tuple[AssignmentSettings, tuple[EscalationRule, ...]]:
    """``[assignment]`` and ``[[escalations]]``, and every team the config names checked against ``[teams]``.

    ``where`` maps each service key to the file and key path it was read from.
    """
    from .config import did_you_mean, structure
    from .errors import ConfigProblem
    from .settings import parse_target

    def unknown_team(path: str, team: str) -> None:
        problems.append(ConfigProblem(file, path, f"unknown team {team!r}", did_you_mean(team, teams)))

    assignment = structure(data.get("assignment", {}), AssignmentSettings, file, "assignment", problems)
    if assignment is None:
        assignment = AssignmentSettings()
    if assignment.policy not in POLICIES:
        problems.append(
            ConfigProblem(
                file,
                "assignment.policy",
                f"unknown policy {assignment.policy!r}",
                did_you_mean(assignment.policy, POLICIES),
            )
        )
    if assignment.default_team and assignment.default_team not in teams:
        unknown_team("assignment.default_team", assignment.default_team)
    for key, team in teams.items():
        if team.assign and team.assign not in POLICIES:
            problems.append(
                ConfigProblem(
                    file, f"teams.{key}.assign", f"unknown policy {team.assign!r}", did_you_mean(team.assign, POLICIES)
                )
            )
        if team.lead and team.members and team.lead not in team.members and not team.group:
            problems.append(ConfigProblem(file, f"teams.{key}.lead", f"{team.lead!r} is not one of the team's members"))
    for service in services:
        if service.team and service.team not in teams:
            f, p = where.get(service.key, (file, "services"))
            problems.append(
                ConfigProblem(f, f"{p}.team", f"unknown team {service.team!r}", did_you_mean(service.team, teams))
            )

    raw = data.get("escalations", [])
    if not isinstance(raw, list):
        problems.append(ConfigProblem(file, "escalations", "expected an array of tables ([[escalations]])"))
        raw = []
    rules = []
    keys = {s.key for s in services}
    for i, body in enumerate(raw):
        path = f"escalations[{i}]"
        rule = structure(body, EscalationRule, file, path, problems)
        if rule is None:
            continue
        if rule.when not in TRIGGERS:
            problems.append(
                ConfigProblem(file, f"{path}.when", f"unknown trigger {rule.when!r}", did_you_mean(rule.when, TRIGGERS))
            )
        if rule.to not in TARGETS:
            problems.append(
                ConfigProblem(file, f"{path}.to", f"unknown target {rule.to!r}", did_you_mean(rule.to, TARGETS))
            )
        if rule.team and rule.team not in teams:
            unknown_team(f"{path}.team", rule.team)
        if rule.to == "team" and not rule.team:
            problems.append(ConfigProblem(file, f"{path}.team", "missing", 'say which team: team = "KEY"'))
        if rule.when == "approval":
            if not rule.after:
                problems.append(ConfigProblem(file, f"{path}.after", "missing", 'say how long it may wait: "4h", "2d"'))
            else:
                try:
                    parse_target(rule.after)
                except ValueError as e:
                    problems.append(ConfigProblem(file, f"{path}.after", str(e)))
        elif rule.after:
            problems.append(
                ConfigProblem(file, f"{path}.after", f"only rules on approvals wait; this one fires on {rule.when}")
            )
        if rule.calendar and rule.calendar not in calendars:
            problems.append(
                ConfigProblem(
                    file, f"{path}.calendar", f"no calendar {rule.calendar!r}", did_you_mean(rule.calendar, calendars)
                )
            )
        for j, key in enumerate(rule.services):
            if key not in keys:
                problems.append(
                    ConfigProblem(
                        file, f"{path}.services[{j}]", f"no service {key!r} in the catalog", did_you_mean(key, keys)
                    )
                )
        rules.append(rule if rule.name else attrs.evolve(rule, name=f"escalation {i + 1}"))
    return assignment, tuple(rules)
