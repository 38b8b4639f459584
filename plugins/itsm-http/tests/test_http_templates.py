"""The template language: names only, values inserted as data wherever they go."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest
from itsmcore import ActionRequest
from itsmcore.testing import sample_customer

from itsm_http.action import render_body, render_url
from itsm_http.templating import MissingValue, RequestContext, Template, TemplateError

HOSTILE = [
    '"}, "admin": true, "x": {"',
    "{{7*7}}",
    "${__import__('os')}",
    "{customer.email}",
    "%(name)s {0} {}",
    "line\r\nX-Injected: 1",
    "../../etc/passwd?a=1&b=2#frag",
    "日本語 ✓ \x00",
]


def test_parse_placeholders_and_escaped_braces() -> None:
    t = Template.parse("Hi {customer.first_name}, {{literal}} {outputs.login}")
    assert t.names == ("customer.first_name", "outputs.login")
    assert t.render(lambda n: n.upper()) == "Hi CUSTOMER.FIRST_NAME, {literal} OUTPUTS.LOGIN"


@pytest.mark.parametrize(
    "text",
    ["{customer.emial}", "{customers.email}", "{service.url}", "{customer.attributes}", "{x}"],
)
def test_unknown_placeholders_are_refused_with_a_hint(text: str) -> None:
    with pytest.raises(TemplateError, match="placeholder"):
        Template.parse(text)


def test_did_you_mean() -> None:
    with pytest.raises(TemplateError, match=r"did you mean \{customer.email\}"):
        Template.parse("{customer.emial}")


@pytest.mark.parametrize(
    "text",
    [
        "{__import__('os').system('id')}",
        "{customer.email.__class__}x{",
        "{customer.name!r}",
        "{customer.name:>10}",
        "{7*7}",
        "${customer.name}}",
        "{ demand.id",
        "}",
    ],
)
def test_code_and_format_specs_are_not_templates(text: str) -> None:
    with pytest.raises(TemplateError):
        Template.parse(text)


def test_open_roots_accept_any_name() -> None:
    Template.parse("{answers.mobile_os} {outputs.device} {customer.attributes.cost_centre} {job.idempotency_key}")


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_customer_names_go_into_json_as_one_string(
    name: str, request_for: Callable[..., ActionRequest]
) -> None:
    req = request_for(customer=sample_customer(name=name, email="steve@eagle5.example"))
    body = render_body(
        {"name": "{customer.name}", "greeting": "Hello {customer.name}!", "admin": False}, RequestContext(req)
    )
    wire = json.dumps(body)
    again = json.loads(wire)
    assert again == {"name": name, "greeting": f"Hello {name}!", "admin": False}
    assert set(again) == {"name", "greeting", "admin"}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_values_are_percent_encoded_in_urls(name: str, request_for: Callable[..., ActionRequest]) -> None:
    req = request_for(answers={"team": name})
    url = render_url("https://api.example/teams/{answers.team}/members?who={customer.id}", RequestContext(req))
    head, _, query = url.partition("?")
    assert head.startswith("https://api.example/teams/")
    segment = head[len("https://api.example/teams/") :].removesuffix("/members")
    assert "/" not in segment and "?" not in segment and "#" not in segment and "\n" not in segment
    assert unquote(segment) == name
    assert query == "who=steve"


def test_single_placeholder_keeps_the_json_type(request_for: Callable[..., ActionRequest]) -> None:
    req = request_for(outputs={"device": {"id": "ci-1", "numbers": [1, 2]}, "count": 3})
    ctx = RequestContext(req)
    body: dict[str, Any] = render_body(
        {
            "id": "{demand.id}",
            "count": "{outputs.count}",
            "device": "{outputs.device}",
            "n": "{outputs.device.numbers.1}",
        },
        ctx,
    )
    assert body == {"id": 42, "count": 3, "device": {"id": "ci-1", "numbers": [1, 2]}, "n": 2}
    assert render_body(
        {"missing_email": "{customer.email}"}, RequestContext(request_for(customer=sample_customer(email=None)))
    ) == {"missing_email": None}


def test_missing_answer_or_output_names_the_placeholder(request_for: Callable[..., ActionRequest]) -> None:
    ctx = RequestContext(request_for())
    with pytest.raises(MissingValue, match=r"\{answers.cost_centre\}.*mobile_number"):
        ctx("answers.cost_centre")
    with pytest.raises(MissingValue, match=r"\{outputs.login\}"):
        ctx("outputs.login")
    with pytest.raises(MissingValue, match="attribute"):
        ctx("customer.attributes.badge")


def test_context_fields(request_for: Callable[..., ActionRequest]) -> None:
    ctx = RequestContext(request_for(key="k-1", attempt=2))
    assert ctx("customer.first_name") == "Steve"
    assert ctx("service.key") == "expensatron"
    assert ctx("demand.kind") == "value"
    assert ctx("demand.priority") == 3
    assert ctx("job.idempotency_key") == "k-1"
    assert ctx("job.attempt") == 2
    assert ctx("answers.mobile_os") == "iOS"
