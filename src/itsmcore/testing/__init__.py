"""The conformance kit for plugin authors: an opt-in pytest plugin.

Enable it in your plugin's ``conftest.py``::

    pytest_plugins = ["itsmcore.testing"]

It gives you fixtures that build a throwaway deployment (a temp dir, SQLite, a few
customers) and contract test classes, one per component family, to subclass:

.. code-block:: python

    from itsmcore.testing import ChannelContract

    class TestPigeon(ChannelContract):
        @pytest.fixture
        def channel(self, tmp_path): return Pigeon(PigeonSettings(loft="roof"), context_for(tmp_path))
"""

from __future__ import annotations

from .contracts import (
    ActionContract,
    ChannelContract,
    DirectoryContract,
    SurveyMethodContract,
    check_component_record,
    context_for,
    sample_customer,
)
from .fixtures import (
    DEFAULT_PASSWORD,
    itsm_deployment_factory,
    itsm_desk,
    pytest_configure,
    write_customers,
)

__all__ = [
    "DEFAULT_PASSWORD",
    "ActionContract",
    "ChannelContract",
    "DirectoryContract",
    "SurveyMethodContract",
    "check_component_record",
    "context_for",
    "itsm_deployment_factory",
    "itsm_desk",
    "pytest_configure",
    "sample_customer",
    "write_customers",
]
