"""Hypothesis profiles for property tests, one definition for the core's suite and every plugin's.

``default``: a few dozen examples each, the same ones every run (the normal test run).
``fuzz``: 10,000 each, chosen at random (``HYPOTHESIS_PROFILE=fuzz``, as ``tox -e fuzz`` sets).
No deadline in either: a loaded machine is slow, and speed is measured in ``bench/``.
"""

from __future__ import annotations

import os


def use_hypothesis_profiles() -> None:
    """Register both profiles and load the one ``HYPOTHESIS_PROFILE`` names; nothing without Hypothesis."""
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # only property tests need it
        return
    unchecked = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
    settings.register_profile(
        "default", max_examples=50, deadline=None, derandomize=True, database=None, suppress_health_check=unchecked
    )
    settings.register_profile(
        "fuzz", max_examples=10_000, deadline=None, database=None, print_blob=True, suppress_health_check=unchecked
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
