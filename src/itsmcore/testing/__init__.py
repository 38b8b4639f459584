"""The conformance kit for plugin authors: an opt-in pytest plugin.

Enable it in your plugin's ``conftest.py``::

    pytest_plugins = ["itsmcore.testing"]

It gives you fixtures that build a throwaway deployment (a temp dir, a few customers,
SQLite or, with ``pytest --itsm-database=postgresql``, a fresh PostgreSQL database on a
throwaway cluster) and contract test classes, one per component family, to subclass:

.. code-block:: python

    from itsmcore.testing import ChannelContract

    class TestPigeon(ChannelContract):
        @pytest.fixture
        def channel(self, tmp_path): return Pigeon(PigeonSettings(loft="roof"), context_for(tmp_path))

``AssignmentPolicyContract`` for an ``itsm_assign`` policy (``itsmcore.testing.assignment``),
and ``ObserverContract``, which proves that every journey event, stage and state change
of a deployment reached the hooks once (``itsmcore.testing.observer``).
"""

from __future__ import annotations

from .assignment import AssignmentPolicyContract
from .contracts import (
    ActionContract,
    ChannelContract,
    DirectoryContract,
    JobRunnerContract,
    SurveyMethodContract,
    check_component_record,
    context_for,
    sample_customer,
)
from .fixtures import (
    DEFAULT_PASSWORD,
    itsm_database,
    itsm_database_url,
    itsm_deployment_factory,
    itsm_desk,
    itsm_hook_recorder,
    itsm_postgres,
    itsm_postgres_url,
    pytest_addoption,
    pytest_configure,
    pytest_report_header,
    write_customers,
)
from .hook_table import StoredHookLog
from .observer import HookCall, HookLog, HookProblem, HookRecorder, ObserverContract, SeenEvent
from .postgres import PostgresCluster, find_pg_bin

__all__ = [
    "DEFAULT_PASSWORD",
    "ActionContract",
    "AssignmentPolicyContract",
    "ChannelContract",
    "DirectoryContract",
    "HookCall",
    "HookLog",
    "HookProblem",
    "HookRecorder",
    "JobRunnerContract",
    "ObserverContract",
    "PostgresCluster",
    "SeenEvent",
    "StoredHookLog",
    "SurveyMethodContract",
    "check_component_record",
    "context_for",
    "find_pg_bin",
    "itsm_database",
    "itsm_database_url",
    "itsm_deployment_factory",
    "itsm_desk",
    "itsm_hook_recorder",
    "itsm_postgres",
    "itsm_postgres_url",
    "pytest_addoption",
    "pytest_configure",
    "pytest_report_header",
    "sample_customer",
    "write_customers",
]
