"""The assignment policy contract: what an ``itsm_assign`` implementation must do for the desk.

Subclass :class:`AssignmentPolicyContract` and give it your plugin as the ``policy``
fixture; override ``teams_config`` when your policy needs teams of its own:

.. code-block:: python

    from itsmcore.testing import AssignmentPolicyContract

    class TestSkillsPolicy(AssignmentPolicyContract):
        @pytest.fixture
        def policy(self):
            return SkillsPolicy()
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from ..desk import Desk

#: Two teams from the kit's customers: everyone in the directory group ``sales``, and one listed member.
TEAMS = """
[teams.sales-desk]
name = "Sales desk"
group = "sales"
lead = "scott"

[teams.managers]
name = "Managers"
members = ["scott"]

[assignment]
default_team = "sales-desk"

[[services]]
key = "crm"
name = "CRM"
kind = "failure"
team = "managers"

[[services]]
key = "laptop"
name = "A laptop"
kind = "value"
"""

#: Demands the contract takes in: (kind, summary, service).
DEMANDS: tuple[tuple[str, str, str | None], ...] = (
    ("failure", "The CRM is down", "crm"),
    ("failure", "My screen flickers", None),
    ("value", "I need a laptop", "laptop"),
    ("information", "Where is my laptop?", None),
    ("failure", "The CRM is slow", "crm"),
    ("failure", "Printer jammed", None),
)


class AssignmentPolicyContract:
    """An ``itsm_assign`` implementation, checked through a desk that takes demands in with it.

    It must (a) implement the hook with the specification's argument names and register
    with the plugin host; (b) return an :class:`~itsmcore.model.Assignment` or ``None``;
    (c) give every demand a ``[teams.KEY]`` team and, if any, an agent who is one of that
    team's members, without raising (the desk keeps a failure against the demand, and the
    contract fails on it); (d) leave its decision on each demand's journey.
    """

    @pytest.fixture
    def policy(self) -> object:
        raise NotImplementedError("give the contract your plugin as the 'policy' fixture")

    @pytest.fixture
    def teams_config(self) -> str:
        """The TOML of the teams, ``[assignment]`` and services the contract's deployment has."""
        return TEAMS

    @pytest.fixture
    def demands(self) -> tuple[tuple[str, str, str | None], ...]:
        """The demands taken in: ``(kind, summary, service key or None)``; the customer is ``steve``."""
        return DEMANDS

    @pytest.fixture
    def policy_desk(
        self, policy: object, teams_config: str, itsm_deployment_factory: Callable[..., Path]
    ) -> Iterator[Desk]:
        from ..desk import Desk

        with Desk.open(itsm_deployment_factory(teams_config), entry_points=False, plugins=[policy]) as desk:
            yield desk

    def test_the_plugin_implements_itsm_assign(self, policy: object) -> None:
        """The hook is there with the specification's argument names, and the host registers the plugin."""
        from .. import hookspecs
        from ..plugins import PluginHost

        impl = getattr(policy, "itsm_assign", None)
        assert impl is not None and callable(impl), "the plugin has no itsm_assign"
        allowed = set(inspect.signature(hookspecs.itsm_assign).parameters)
        params = inspect.signature(impl).parameters
        unknown = set(params) - allowed
        assert not unknown, (
            f"itsm_assign takes {sorted(unknown)}, which the hook does not pass; it passes {sorted(allowed)}"
        )
        defaults = [n for n, p in params.items() if p.default is not inspect.Parameter.empty]
        assert not defaults, (
            f"hook implementations take no default values (pluggy differs between versions): {defaults}"
        )
        host = PluginHost()
        host.register(policy, name="policy-under-test")
        assert host.implemented("itsm_assign")

    def test_every_demand_gets_a_team_and_one_of_its_members(
        self, policy_desk: Desk, demands: tuple[tuple[str, str, str | None], ...]
    ) -> None:
        """Each demand is with a configured team, and its agent (if any) is a member; nothing failed."""
        desk = policy_desk
        teams = set(desk.config.teams)
        for kind, summary, service in demands:
            d = desk.submit(kind, "steve", summary, service=service).demand
            failures = [f for f in desk.plugin_failures(d.id) if f.hook == "itsm_assign"]
            assert not failures, f"demand {summary!r}: itsm_assign failed: {failures[0].error}"
            assert d.team in teams, f"demand {summary!r} went to {d.team!r}, not one of the teams {sorted(teams)}"
            if d.assignee is not None:
                members = desk.team_members(d.team)
                assert d.assignee in members, (
                    f"demand {summary!r} went to {d.assignee!r}, who is not in team {d.team} (members: {list(members)})"
                )

    def test_the_result_is_an_assignment_or_none(
        self, policy: object, policy_desk: Desk, demands: tuple[tuple[str, str, str | None], ...]
    ) -> None:
        """Called as the desk calls it, the hook answers an Assignment or None, nothing else."""
        from ..components import Intake
        from ..model import Assignment, DemandKind

        impl = cast(Any, policy).itsm_assign
        wanted = set(inspect.signature(impl).parameters)
        customer = policy_desk.get_customer("steve")
        for kind, summary, service in demands:
            svc = policy_desk.get_service(service) if service else None
            intake = Intake(
                kind=DemandKind(kind),
                customer=customer,
                summary=summary,
                details="",
                channel="cli",
                service_key=service,
            )
            args = {"desk": policy_desk, "intake": intake, "service": svc, "priority": 3}
            result = impl(**{k: v for k, v in args.items() if k in wanted})
            assert result is None or isinstance(result, Assignment), (
                f"itsm_assign returned {result!r} for {summary!r}; expected an Assignment or None"
            )

    def test_the_decision_is_on_the_journey(
        self, policy_desk: Desk, demands: tuple[tuple[str, str, str | None], ...]
    ) -> None:
        """Each assigned demand's journey says, behind the scenes, who has it and why; the customer sees none of it."""
        desk = policy_desk
        for kind, summary, service in demands:
            d = desk.submit(kind, "steve", summary, service=service).demand
            lines = [e for e in desk.journey(d.id) if e.kind == "assignment"]
            assert lines, f"demand {summary!r}: no assignment on its journey"
            assert all(d.team and d.team in e.behind_scenes for e in lines), [e.behind_scenes for e in lines]
            assert all(not e.customer_sees for e in lines), "an assignment is behind the scenes"
