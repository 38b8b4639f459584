"""The ``http`` fulfilment action: one call to an HTTP/JSON API as a step of a plan."""

from __future__ import annotations

import base64
import json
import logging
import re
import ssl
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import attrs
from itsmcore import (
    ActionComponent,
    ActionRequest,
    ActionResult,
    AlreadyDone,
    ComponentContext,
    NeedsCustomer,
    PermanentFailure,
    TemporaryFailure,
)

from .responses import clean_text, extract, summarise_error
from .settings import Call, HttpParams, HttpSettings
from .templating import MissingValue, RequestContext, Template, as_text, plain

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("itsm_http")

#: Statuses a retry may cure besides 5xx: request timeout, too early, too many requests.
RETRYABLE_4XX = frozenset({408, 425, 429})
#: A ``Retry-After`` longer than this is left to the job runner instead of sleeping in the step.
MAX_INLINE_WAIT = 5.0
_UNSAFE_HEADER = re.compile(r"[\r\n\x00]")


@attrs.frozen
class _Response:
    status: int
    reason: str
    content_type: str
    body: bytes
    retry_after: float | None


class HttpAction:
    """Calls an API with a body built from a safe template and keeps fields of the answer.

    Network errors, timeouts and 5xx raise :class:`~itsmcore.TemporaryFailure` (the job is
    retried with backoff, with the same ``Idempotency-Key``); the statuses the settings
    foresee end the step as :class:`~itsmcore.AlreadyDone` (409: it exists already) or
    :class:`~itsmcore.NeedsCustomer` (422 on an answer the customer can correct); other 4xx
    raise :class:`~itsmcore.PermanentFailure` with the server's message, summarised.
    The secret is read when a call is made and lives only in that call's headers.
    """

    def __init__(self, settings: HttpSettings, context: ComponentContext):
        self.settings = settings
        self.context = context
        self.name = context.name

    def __repr__(self) -> str:
        return f"<HttpAction {self.name!r} {self.settings.method} {_redact(self.settings.url)!r} auth={self.settings.auth}>"

    # ------------------------------------------------------------------ running

    def run(self, request: ActionRequest) -> ActionResult:  # or raises AlreadyDone / NeedsCustomer
        params = request.params if isinstance(request.params, HttpParams) else None
        call = Call.merge(self.settings, params)
        if not call.url:
            raise PermanentFailure(
                f"action {self.name!r} has no url: set url in [actions.{self.name}] or in the plan step"
            )
        context = RequestContext(request)
        try:
            url = render_url(call.url, context)
            body = render_body(call.body, context) if call.body is not None else None
            headers = {name: render_header(name, value, context) for name, value in call.headers.items()}
        except MissingValue as e:
            raise PermanentFailure(f"action {self.name!r}: {e}") from None
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise PermanentFailure(f"action {self.name!r}: url must start with http:// or https://, got {scheme!r}")
        if self.settings.idempotency_header:
            headers[self.settings.idempotency_header] = request.idempotency_key
        headers.update(self._auth_headers())
        if body is not None:
            headers["Content-Type"] = "application/json"
        headers.setdefault("Accept", "application/json")
        content = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8") if body is not None else None

        response, tries = self._send_with_retries(call.method, url, headers, content)
        where = f"{call.method} {_redact(url)}"
        if not 200 <= response.status < 300:
            self._foreseen(call, response, context, where)
        outputs = self._outputs(call, response, where)
        sees = ""
        if call.customer_sees:
            try:
                sees = Template.parse(call.customer_sees).render(context.with_outputs(outputs), as_text)
            except MissingValue as e:
                raise PermanentFailure(f"action {self.name!r}: customer_sees: {e}") from None
        behind = f"{where} -> {response.status} {response.reason}".rstrip()
        if tries > 1:
            behind += f" after {tries} tries"
        behind += f" (Idempotency-Key {request.idempotency_key})" if self.settings.idempotency_header else ""
        if outputs:
            behind += "; outputs: " + ", ".join(f"{k}={clean_text(as_text(v), 60)}" for k, v in outputs.items())
        log.info("%s: %s -> %s", self.name, where, response.status)
        return ActionResult(
            customer_sees=sees,
            behind_scenes=behind,
            outputs=outputs,
            notify=bool(call.notify and sees),
        )

    def _foreseen(self, call: Call, response: _Response, context: RequestContext, where: str) -> None:
        """Raise the outcome a refusal the settings foresee stands for: it exists already, or the customer can fix it."""
        s = self.settings
        summary = summarise_error(response.body, response.content_type)
        log.info("%s: %s -> %s (foreseen)", self.name, where, response.status)
        if response.status in s.already_done_status:
            outputs = self._outputs(call, response, where, partial=True)
            try:
                sees = Template.parse(s.already_done_sees).render(context.with_outputs(outputs), as_text)
            except MissingValue as e:
                raise PermanentFailure(f"action {self.name!r}: already_done_sees: {e}") from None
            raise AlreadyDone(sees, outputs)
        try:
            sees = Template.parse(s.needs_customer_sees).render(context, as_text) if s.needs_customer_sees else ""
        except MissingValue as e:
            raise PermanentFailure(f"action {self.name!r}: needs_customer_sees: {e}") from None
        service = context("service.name")
        raise NeedsCustomer(
            sees or f"{as_text(service)} did not accept what you gave us: {summary}.", s.needs_customer_field
        )

    def _outputs(self, call: Call, response: _Response, where: str, *, partial: bool = False) -> dict[str, Any]:
        if not call.outputs:
            return {}
        try:
            document = json.loads(response.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            if partial:  # a refusal need not carry the thing it refers to
                return {}
            raise PermanentFailure(
                f"{where} answered {response.status} but not with JSON ({response.content_type or 'no content type'}):"
                f" {summarise_error(response.body, response.content_type, 120)}; cannot read outputs"
            ) from None
        outputs: dict[str, Any] = {}
        for name, path in call.outputs.items():
            try:
                outputs[name] = plain(extract(document, path))
            except KeyError as e:
                if partial:
                    continue
                raise PermanentFailure(f"{where}: output {name!r} ({path}): {e.args[0]}") from None
        return outputs

    # ------------------------------------------------------------------ auth

    def _auth_headers(self) -> dict[str, str]:
        s = self.settings
        if s.auth == "none":
            return {}
        try:
            secret = self.context.secret(env=s.auth_env or None, file=s.auth_file or None)
        except OSError as e:
            raise PermanentFailure(
                f"action {self.name!r}: cannot read auth_file {s.auth_file!r}: {e.strerror or type(e).__name__}"
            ) from None
        if not secret:
            where = " or ".join(
                x for x in (f"environment variable {s.auth_env}" if s.auth_env else "", s.auth_file) if x
            )
            raise PermanentFailure(f"action {self.name!r}: the {s.auth} secret is not set ({where})")
        if _UNSAFE_HEADER.search(secret):
            raise PermanentFailure(f"action {self.name!r}: the {s.auth} secret contains a line break")
        if s.auth == "bearer":
            return {"Authorization": f"Bearer {secret}"}
        if s.auth == "basic":
            token = base64.b64encode(f"{s.username}:{secret}".encode()).decode("ascii")
            return {"Authorization": f"Basic {token}"}
        return {s.api_key_header: secret}

    # ------------------------------------------------------------------ sending

    def _client(self) -> httpx.Client:
        import httpx

        s = self.settings
        timeout = httpx.Timeout(
            connect=s.connect_timeout, read=s.read_timeout, write=s.read_timeout, pool=s.connect_timeout
        )
        verify: ssl.SSLContext | bool = s.verify_tls
        if s.verify_tls and s.ca_file:
            verify = ssl.create_default_context(cafile=str(self.context.path(s.ca_file)))
        return httpx.Client(timeout=timeout, verify=verify, follow_redirects=False, trust_env=False)

    def _send_with_retries(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes | None
    ) -> tuple[_Response, int]:
        s = self.settings
        delay = s.retry_delay
        tries = 0
        while True:
            tries += 1
            try:
                return self._send_once(method, url, headers, content), tries
            except TemporaryFailure as e:
                wait = e.retry_after if e.retry_after is not None else delay
                if tries > s.retries or wait > MAX_INLINE_WAIT:
                    raise
                log.warning("%s: %s; trying again in %.1f s", self.name, e, wait)
                time.sleep(wait)
                delay *= 2

    def _send_once(self, method: str, url: str, headers: Mapping[str, str], content: bytes | None) -> _Response:
        import httpx

        where = f"{method} {_redact(url)}"
        try:
            with self._client() as client, client.stream(method, url, headers=headers, content=content) as r:
                body = bytearray()
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > self.settings.max_response_bytes:
                        raise PermanentFailure(
                            f"{where}: the response is larger than {self.settings.max_response_bytes} bytes"
                        )
                response = _Response(
                    status=r.status_code,
                    reason=clean_text(r.reason_phrase, 60),
                    content_type=r.headers.get("content-type", ""),
                    body=bytes(body),
                    retry_after=_retry_after(r.headers.get("retry-after")),
                )
        except httpx.TimeoutException as e:
            phase = "connecting to" if isinstance(e, httpx.ConnectTimeout | httpx.PoolTimeout) else "waiting for"
            raise TemporaryFailure(f"{where}: timed out {phase} the server") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as e:
            raise PermanentFailure(f"{where}: {clean_text(str(e))}") from None
        except httpx.TransportError as e:
            raise TemporaryFailure(f"{where}: {type(e).__name__}: {clean_text(str(e)) or 'network error'}") from None
        status = response.status
        if 200 <= status < 300:
            return response
        summary = summarise_error(response.body, response.content_type)
        if status >= 500 or status in RETRYABLE_4XX:
            log.warning("%s: %s -> %s", self.name, where, status)
            raise TemporaryFailure(
                f"{where} -> {status} {response.reason}: {summary}", retry_after=response.retry_after
            )
        if 300 <= status < 400:
            raise PermanentFailure(f"{where} -> {status} (a redirect); configure the final URL instead")
        s = self.settings
        if status in s.already_done_status or (s.needs_customer_field and status in s.needs_customer_status):
            return response  # a foreseen outcome: the step decides what it means
        log.warning("%s: %s -> %s (permanent)", self.name, where, status)
        raise PermanentFailure(f"{where} was refused: {status} {response.reason}: {summary}")


# --------------------------------------------------------------------------- rendering


def render_url(template: str, context: RequestContext) -> str:
    """Fill a URL template: every inserted value is percent-encoded (``/``, ``?``, ``&`` included)."""
    return Template.parse(template).render(context, lambda v: quote(as_text(v), safe=""))


def render_header(name: str, template: str, context: RequestContext) -> str:
    value = Template.parse(template).render(context, as_text)
    if _UNSAFE_HEADER.search(value):
        raise PermanentFailure(f"header {name}: a value inserted into it contains a line break")
    return value


def render_body(template: Any, context: RequestContext) -> Any:
    """Fill a JSON body template: values go in as JSON values, never spliced into JSON text.

    A string that is exactly one placeholder becomes that value (a number stays a number);
    a string mixing text and placeholders stays a string. Keys are literal.
    """
    if isinstance(template, str):
        parsed = Template.parse(template)
        single = parsed.single
        if single is not None:
            return plain(context(single.name))
        return parsed.render(context, as_text)
    if isinstance(template, Mapping):
        return {str(k): render_body(v, context) for k, v in template.items()}
    if isinstance(template, list | tuple):
        return [render_body(v, context) for v in template]
    return plain(template)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: leave the delay to the runner's backoff
    return max(0.0, min(seconds, 3600.0))


def _redact(url: str) -> str:
    """A URL without user info (``user:password@``), for logs and the journey."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(invalid URL)"
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def http_action_component() -> ActionComponent:
    from .sandbox import http_sandbox

    return ActionComponent(
        name="http",
        factory=HttpAction,
        settings=HttpSettings,
        params=HttpParams,
        description="Call an HTTP/JSON API (e.g. create an account) and keep fields of the answer as outputs.",
        sandbox=http_sandbox,
    )
