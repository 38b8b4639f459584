"""Settings of an ``[actions.NAME] use = "http"`` table and params of its plan steps.

Every template and output path is checked when the config is read, so ``itsm check``
reports an unknown placeholder with the file and key path, before any customer asks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from .responses import PathError, check_path
from .templating import TemplateError, check_templates, strings_in

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
AUTH_KINDS = ("none", "bearer", "basic", "api_key")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _templates(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    try:
        check_templates(strings_in(value))
    except TemplateError as e:
        raise ValueError(f"{attribute.name}: {e}") from None


def _headers(_inst: Any, attribute: attrs.Attribute[Any], value: Mapping[str, str] | None) -> None:
    if value is None:
        return
    for name, template in value.items():
        if not _HEADER_NAME.match(name):
            raise ValueError(f"{attribute.name}: {name!r} is not a valid HTTP header name")
        try:
            check_templates([template])
        except TemplateError as e:
            raise ValueError(f"{attribute.name}.{name}: {e}") from None


def _outputs(_inst: Any, attribute: attrs.Attribute[Any], value: Mapping[str, str] | None) -> None:
    if value is None:
        return
    for name, path in value.items():
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise ValueError(f"{attribute.name}: output name {name!r} must be a plain name like 'login'")
        try:
            check_path(path)
        except PathError as e:
            raise ValueError(f"{attribute.name}.{name}: {e}") from None


def _method(_inst: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and value.upper() not in METHODS:
        raise ValueError(f"{attribute.name}: {value!r} is not one of {', '.join(METHODS)}")


def _positive(_inst: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name}: must be more than 0 seconds, got {value}")


def _body(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, Mapping | list):
        raise ValueError(f"{attribute.name}: expected a table or an array (the JSON body), got {value!r}")
    _templates(_inst, attribute, value)


def _statuses(_inst: Any, attribute: attrs.Attribute[Any], value: list[int]) -> None:
    for status in value:
        if not 400 <= status <= 499 or status in (408, 425, 429):
            raise ValueError(
                f"{attribute.name}: {status} is not a client error a retry cannot cure (400-499 but 408, 425, 429)"
            )


def _check_auth(self: HttpSettings) -> None:
    if self.auth not in AUTH_KINDS:
        raise ValueError(f"auth: {self.auth!r} is not one of {', '.join(AUTH_KINDS)}")
    if self.auth != "none" and not (self.auth_env or self.auth_file):
        raise ValueError(
            f"auth = {self.auth!r} needs auth_env (an environment variable) or auth_file (a file) holding the secret;"
            " never put the secret itself in the config"
        )
    if self.auth == "basic" and not self.username:
        raise ValueError('auth = "basic" needs username (the password is the secret from auth_env/auth_file)')
    if self.auth == "api_key" and not _HEADER_NAME.match(self.api_key_header):
        raise ValueError(f"api_key_header: {self.api_key_header!r} is not a valid HTTP header name")


@attrs.frozen(kw_only=True)
class HttpSettings:
    """An HTTP action instance: ``[actions.expensatron] use = "http"``."""

    url: str = attrs.field(
        default="",
        validator=_templates,
        metadata={
            "doc": "Endpoint URL; placeholders such as {customer.id} are percent-encoded. A plan step may override it."
        },
    )
    method: str = attrs.field(
        default="POST", validator=_method, metadata={"doc": "HTTP method: GET, POST, PUT, PATCH or DELETE."}
    )
    body: Any = attrs.field(
        default=None,
        validator=_body,
        metadata={
            "doc": "JSON body template: a table whose string values may hold placeholders. A value that is exactly "
            "one placeholder is sent as a JSON value; keys are literal. Omit for no body."
        },
    )
    headers: dict[str, str] = attrs.field(
        factory=dict, validator=_headers, metadata={"doc": "Extra request headers (values may hold placeholders)."}
    )
    outputs: dict[str, str] = attrs.field(
        factory=dict,
        validator=_outputs,
        metadata={
            "doc": "Response fields kept as the step's outputs: name = JSON pointer (/account/login) or dotted "
            "path (account.login). A missing field fails the step."
        },
    )
    customer_sees: str = attrs.field(
        default="",
        validator=_templates,
        metadata={
            "doc": "What the customer is told when the step succeeds, e.g. 'Your login is {outputs.login}'. "
            "Empty: the step shows only behind the scenes."
        },
    )
    notify: bool = attrs.field(
        default=False, metadata={"doc": "Also send customer_sees to the customer as a progress message."}
    )
    auth: str = attrs.field(
        default="none",
        metadata={"doc": "none, bearer (Authorization: Bearer), basic (username + secret) or api_key (a header)."},
    )
    auth_env: str = attrs.field(
        default="", metadata={"doc": "Name of the environment variable holding the secret (token or password)."}
    )
    auth_file: str = attrs.field(
        default="",
        metadata={"doc": "File holding the secret, relative to the config file; used if auth_env is unset."},
    )
    username: str = attrs.field(default="", metadata={"doc": "User name for auth = 'basic'."})
    api_key_header: str = attrs.field(
        default="X-API-Key", metadata={"doc": "Header carrying the secret for auth = 'api_key'."}
    )
    idempotency_header: str = attrs.field(
        default="Idempotency-Key",
        metadata={"doc": "Header carrying the job's idempotency key (same on every retry); empty to not send it."},
    )
    connect_timeout: float = attrs.field(
        default=5.0, validator=_positive, metadata={"doc": "Seconds to wait for a connection."}
    )
    read_timeout: float = attrs.field(
        default=15.0, validator=_positive, metadata={"doc": "Seconds to wait for the response (and to send the body)."}
    )
    retries: int = attrs.field(
        default=0,
        validator=attrs.validators.and_(attrs.validators.ge(0), attrs.validators.le(5)),
        metadata={
            "doc": "Extra attempts inside the step on network errors, timeouts and 5xx (0-5); after them the "
            "job runner retries with backoff."
        },
    )
    retry_delay: float = attrs.field(
        default=0.5,
        validator=attrs.validators.ge(0.0),
        metadata={"doc": "Seconds before the first in-step retry; doubles each time."},
    )
    verify_tls: bool = attrs.field(default=True, metadata={"doc": "Check the server's TLS certificate."})
    ca_file: str = attrs.field(
        default="", metadata={"doc": "CA bundle (PEM) to trust for the server's certificate, relative to the config."}
    )
    max_response_bytes: int = attrs.field(
        default=1_000_000, metadata={"doc": "Largest response body read; a larger one fails the step."}
    )
    already_done_status: list[int] = attrs.field(
        factory=lambda: [409],
        validator=_statuses,
        metadata={
            "doc": "Statuses meaning what the step would create exists already (409: the customer has an account): "
            "the step counts as done and the customer is told already_done_sees. Empty: they fail like other 4xx."
        },
    )
    already_done_sees: str = attrs.field(
        default="You already have this set up; there is nothing more to do.",
        validator=_templates,
        metadata={
            "doc": "What the customer is told when the answer is an already_done_status, e.g. 'You already have an "
            "Expensatron account ({customer.id}); nothing to set up.' Outputs found in the answer may be used."
        },
    )
    needs_customer_status: list[int] = attrs.field(
        factory=lambda: [422],
        validator=_statuses,
        metadata={
            "doc": "Statuses meaning the API refused something the customer gave (422): with needs_customer_field "
            "set, the customer is asked to correct that answer and the step runs again once they have."
        },
    )
    needs_customer_field: str = attrs.field(
        default="",
        metadata={
            "doc": "The ask the customer corrects on a needs_customer_status (e.g. mobile_number). Empty: such "
            "refusals go to the service desk, since nothing says what the customer could change."
        },
    )
    needs_customer_sees: str = attrs.field(
        default="",
        validator=_templates,
        metadata={
            "doc": "What the customer is told is wrong on a needs_customer_status, e.g. 'Expensatron does not "
            "accept {answers.mobile_number} as a mobile number.' Empty: the service's name and the API's message."
        },
    )

    def __attrs_post_init__(self) -> None:
        _check_auth(self)


@attrs.frozen(kw_only=True)
class HttpParams:
    """A plan step's own keys, overriding the action's settings (``None``: use the settings)."""

    url: str | None = attrs.field(default=None, validator=_templates, metadata={"doc": "Endpoint URL for this step."})
    method: str | None = attrs.field(default=None, validator=_method, metadata={"doc": "HTTP method for this step."})
    body: Any = attrs.field(
        default=None, validator=_body, metadata={"doc": "JSON body template for this step (replaces the settings')."}
    )
    headers: dict[str, str] | None = attrs.field(
        default=None, validator=_headers, metadata={"doc": "Headers added to (or replacing) the settings' headers."}
    )
    outputs: dict[str, str] | None = attrs.field(
        default=None, validator=_outputs, metadata={"doc": "Outputs added to (or replacing) the settings' outputs."}
    )
    customer_sees: str | None = attrs.field(
        default=None, validator=_templates, metadata={"doc": "What the customer is told for this step."}
    )
    notify: bool | None = attrs.field(default=None, metadata={"doc": "Also send customer_sees as a progress message."})


@attrs.frozen(kw_only=True)
class Call:
    """Settings and a step's params merged: what one run of the action does."""

    url: str
    method: str
    body: Any
    headers: Mapping[str, str]
    outputs: Mapping[str, str]
    customer_sees: str
    notify: bool

    @classmethod
    def merge(cls, settings: HttpSettings, params: HttpParams | None) -> Call:
        p = params if isinstance(params, HttpParams) else HttpParams()
        return cls(
            url=p.url if p.url is not None else settings.url,
            method=(p.method or settings.method).upper(),
            body=p.body if p.body is not None else settings.body,
            headers={**settings.headers, **(p.headers or {})},
            outputs={**settings.outputs, **(p.outputs or {})},
            customer_sees=p.customer_sees if p.customer_sees is not None else settings.customer_sees,
            notify=p.notify if p.notify is not None else settings.notify,
        )
