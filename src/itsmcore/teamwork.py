"""Reading ``[assignment]`` and ``[[escalations]]``, and checking every team the config names.

``[teams.KEY]`` is :class:`~itsmcore.settings.TeamSettings`; the tables that build on it
are :class:`~itsmcore.settings.AssignmentSettings` and
:class:`~itsmcore.settings.EscalationRule`. :func:`read_teamwork` is called by the config
reader, which hands it its ``structure`` and ``did_you_mean``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .errors import ConfigProblem
from .model import Service
from .settings import (
    POLICIES,
    TARGETS,
    TRIGGERS,
    AssignmentSettings,
    CalendarSettings,
    EscalationRule,
    TeamSettings,
    parse_target,
)


def read_teamwork(
    data: Mapping[str, Any],
    teams: Mapping[str, TeamSettings],
    services: tuple[Service, ...],
    calendars: Mapping[str, CalendarSettings],
    where: Mapping[str, tuple[str, str]],
    file: str,
    problems: list[ConfigProblem],
    *,
    structure: Callable[[Any, type, str, str, list[ConfigProblem]], Any],
    did_you_mean: Callable[[str, Any], str],
) -> tuple[AssignmentSettings, tuple[EscalationRule, ...]]:
    """``[assignment]`` and ``[[escalations]]``, and every team the config names checked against ``[teams]``.

    ``where`` maps each service key to the file and key path it was read from.
    """

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
