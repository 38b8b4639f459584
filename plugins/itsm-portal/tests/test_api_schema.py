"""The API against its own OpenAPI document, over real HTTP on 127.0.0.1: every documented operation.

Schemathesis reads /api/v1/openapi.json from the running server and sends each operation
valid and invalid requests generated from it; no answer may be a 500, every answer must
be documented and match its schema, and invalid data must be refused. A few examples per
operation in the normal run; ``tox -e fuzz`` (HYPOTHESIS_PROFILE=fuzz) sends many more.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from conftest import TOKENS_ENV, make_eagle5, serve  # noqa: E402
from hypothesis import settings  # noqa: E402

pytestmark = pytest.mark.fuzz

#: Examples per operation and generation mode: few in the normal run, many in the fuzz run.
EXAMPLES = 300 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 6


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The portal on a copy of Eagle5 served by uvicorn on 127.0.0.1, and an admin token of the store."""
    from itsmcore import Desk

    os.environ.setdefault(TOKENS_ENV, "older:itsm_older-token-of-the-schema-check-0123456789")
    root = tmp_path_factory.mktemp("schema")
    with Desk.open(make_eagle5(Path(root) / "eagle5", extra="api_rate_limit = 0\n")) as desk:
        _, secret = desk.new_api_token("schema-check-7f3a9c", ["admin"])
        desk.submit("failure", "tony", "VPN drops", channel="phone")
        with serve(desk) as base:
            yield base, secret


@pytest.fixture(scope="module")
def api_schema(live_api: tuple[str, str]) -> Any:
    """The document as the server serves it."""
    base, _ = live_api
    return schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")


def _operations() -> list[str]:
    from itsm_portal.api import OPERATIONS

    return [f"{op.method} {op.path}" for op in OPERATIONS]


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("label", _operations())
def test_every_operation_answers_as_documented(
    api_schema: Any, live_api: tuple[str, str], label: str, mode: str
) -> None:
    from hypothesis import HealthCheck, given
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    _, secret = live_api
    found = {op.ok().label: op.ok() for op in api_schema.get_all_operations()}
    assert label in found, f"{label} is not in the served document: {sorted(found)}"
    strategy = found[label].as_strategy(GenerationMode(mode))

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
    )
    def check(case: Any) -> None:
        # valid by the schema is not always valid for the desk (an unknown customer, a scope name), so valid
        # data may be refused with 4xx; every other check applies
        case.call_and_validate(
            headers={"Authorization": f"Bearer {secret}"}, excluded_checks=[positive_data_acceptance]
        )

    check()
