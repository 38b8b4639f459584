"""The assignment policy contract of the conformance kit: the builtin policies and a vendor's pass it; the
defects vendors make (an agent outside the team, an exception, a dict for a result, a default argument)
fail it with a message that says what to do."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from itsmcore import Assignment, hookimpl
from itsmcore.builtin.assignment import assign
from itsmcore.testing import AssignmentPolicyContract


class RoundRobin:
    """The builtin policy as a vendor would wrap it: round robin in the service's team."""

    @hookimpl
    def itsm_assign(self, desk: Any, intake: Any, service: Any, priority: int) -> Assignment | None:
        return assign(desk, intake, service, priority)


class TestBuiltinRoundRobin(AssignmentPolicyContract):
    @pytest.fixture
    def policy(self) -> object:
        return RoundRobin()

    @pytest.fixture
    def teams_config(self) -> str:
        from itsmcore.testing.assignment import TEAMS

        return TEAMS.replace("[assignment]\n", '[assignment]\npolicy = "round_robin"\n')


class TestBuiltinLeastOpenWork(TestBuiltinRoundRobin):
    @pytest.fixture
    def teams_config(self) -> str:
        from itsmcore.testing.assignment import TEAMS

        return TEAMS.replace("[assignment]\n", '[assignment]\npolicy = "least_open_work"\n')


class Urgent:
    """A vendor's policy: priority 1 and 2 to the managers, the rest left to the builtin."""

    @hookimpl
    def itsm_assign(self, intake: Any, priority: int) -> Assignment | None:
        if priority <= 2 or "CRM" in intake.summary:
            return Assignment(team="managers", agent="scott", reason="urgent")
        return None


class TestVendorPolicy(AssignmentPolicyContract):
    @pytest.fixture
    def policy(self) -> object:
        return Urgent()


DEFECTS = """
import pytest
from itsmcore import Assignment, hookimpl
from itsmcore.testing import AssignmentPolicyContract


class Outsider:
    @hookimpl
    def itsm_assign(self, intake):
        return Assignment(team="managers", agent="steve")


class Raises:
    @hookimpl
    def itsm_assign(self, intake):
        raise KeyError("skills")


class Dict:
    @hookimpl
    def itsm_assign(self, intake):
        return {"team": "managers"}


class Default:
    @hookimpl
    def itsm_assign(self, intake, priority=3):
        return None


class TestOutsider(AssignmentPolicyContract):
    @pytest.fixture
    def policy(self):
        return Outsider()


class TestRaises(AssignmentPolicyContract):
    @pytest.fixture
    def policy(self):
        return Raises()


class TestDict(AssignmentPolicyContract):
    @pytest.fixture
    def policy(self):
        return Dict()


class TestDefault(AssignmentPolicyContract):
    @pytest.fixture
    def policy(self):
        return Default()
"""


@pytest.fixture(scope="module")
def defects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``{class::test: "" if passed, else the failure message}`` of one run of the contract on defective policies."""
    root = tmp_path_factory.mktemp("assign-kit")
    (root / "conftest.py").write_text('pytest_plugins = ["itsmcore.testing"]\n')
    (root / "test_policies.py").write_text(textwrap.dedent(DEFECTS))
    report = root / "report.xml"
    env = os.environ | {"PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", "test_policies.py"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        key = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name', '')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        out[key] = "" if problem is None else problem.get("message", "") + "\n" + (problem.text or "")
    return out


@pytest.mark.parametrize(
    ("case", "says"),
    [
        (
            "TestOutsider::test_every_demand_gets_a_team_and_one_of_its_members",
            "'steve' is not in team managers (Managers); its members: scott",
        ),
        ("TestRaises::test_every_demand_gets_a_team_and_one_of_its_members", "itsm_assign failed: KeyError: 'skills'"),
        ("TestDict::test_the_result_is_an_assignment_or_none", "expected an Assignment or None"),
        ("TestDefault::test_the_plugin_implements_itsm_assign", "take no default values"),
    ],
)
def test_the_contract_catches_what_vendors_get_wrong(defects: dict[str, str], case: str, says: str) -> None:
    assert says in defects[case], defects[case]
