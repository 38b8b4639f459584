"""How an operation of the API is declared and run: one place says its path, method, scope, body, query and answer.

An operation is a plain function over the desk, declared with :func:`operation`::

    @operation("POST", "/demands/{did}/resolve", scope="agent", body=Resolution, answer=DemandOut,
               summary="Resolve a demand", conflict=True)
    def resolve(call: Call) -> DemandOut:
        return demand_out(call.desk, call.desk.resolve(call.id("did"), call.body.resolution, actor=call.actor))

The same declaration serves the request (:func:`endpoint`: token, rate limit, scope, body
and query checked and converted, the function run once in the threadpool, the answer
encoded) and describes it in the OpenAPI document (:mod:`.openapi`), so the two cannot
drift apart. Bodies, queries and answers are attrs classes: msgspec converts into them
and turns them into JSON Schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin, get_type_hints

import attrs
import msgspec
from itsmcore import Identity, InvalidAnswers, ItsmError, NotFound
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .problems import MalformedBody, MissingScope, UnsupportedBody, problem_for, unauthorized

if TYPE_CHECKING:
    from itsmcore import Desk

    from ..app import Portal

#: What a token may be allowed to do (``itsmcore.desk.tokens.SCOPES``); ``admin`` allows everything.
SCOPES = ("read", "write", "agent", "admin")
#: What the tokens of ``api_tokens_env`` and ``api_tokens_file`` (the older way) may do: all but ``admin``.
OLDER_TOKEN_SCOPES = ("read", "write", "agent")
#: Text that must say something (not empty, not only spaces): a required field of a body.
Text = Annotated[str, msgspec.Meta(pattern=r"\S", description="not blank")]
#: The largest record id there can be (18 digits): larger ones are out of range for the store.
MAX_ID = 10**18 - 1
#: How deeply a request's JSON may nest: no operation takes more than a few levels.
MAX_DEPTH = 32


@attrs.frozen
class Caller:
    """Who is calling: the API token's name (the actor of what it does on a journey) and its scopes."""

    name: str
    scopes: tuple[str, ...]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


@attrs.frozen
class Answered:
    """An answer with a status other than the operation's usual one (a duplicate submission: 200, not 201)."""

    value: Any
    status: int


@attrs.frozen
class Call:
    """One request to an operation, checked: who calls, the path's values, the body and query as converted."""

    portal: Portal
    caller: Caller
    path: Mapping[str, str]
    body: Any
    query: Any

    @property
    def desk(self) -> Desk:
        return self.portal.desk

    @property
    def actor(self) -> str:
        """Who a change is recorded as on the journey: the token's name."""
        return self.caller.name

    def id(self, name: str) -> int:
        """A record id from the path; anything that cannot be one (too long for the store, not digits) is a 404."""
        value = self.path[name]
        if not (value.isascii() and value.isdigit() and len(value) <= len(str(MAX_ID))):
            raise NotFound("not found")
        return int(value)

    def need(self, scope: str) -> None:
        """Refuse (403) unless the token has ``scope``; for operations whose scope depends on what is asked."""
        if not self.caller.allows(scope):
            raise MissingScope(scope, self.caller.name, self.caller.scopes)


Handler = Callable[[Call], Any]


@attrs.frozen(kw_only=True)
class Operation:
    """One operation: everything the server and the OpenAPI document need to know about it."""

    method: str
    path: str
    scope: str | None  # None: the handler decides with Call.need (described in scope_note)
    summary: str
    handler: Handler
    answer: Any
    body: type | None = None
    query: type | None = None
    status: int = 200
    conflict: bool = False
    also: tuple[int, ...] = ()  # other statuses it may answer with its answer's shape
    description: str = ""
    scope_note: str = ""

    @property
    def name(self) -> str:
        return self.handler.__name__


#: Every operation, in the order the resource modules declare them.
OPERATIONS: list[Operation] = []


def operation(
    method: str,
    path: str,
    *,
    scope: str | None,
    summary: str,
    answer: Any,
    body: type | None = None,
    query: type | None = None,
    status: int = 200,
    conflict: bool = False,
    also: tuple[int, ...] = (),
    scope_note: str = "",
) -> Callable[[Handler], Handler]:
    """Declare ``handler`` as the operation ``method path``; its docstring is the operation's description."""

    def declare(handler: Handler) -> Handler:
        OPERATIONS.append(
            Operation(
                method=method,
                path=path,
                scope=scope,
                summary=summary,
                handler=handler,
                answer=answer,
                body=body,
                query=query,
                status=status,
                conflict=conflict,
                also=also,
                description=(handler.__doc__ or "").strip(),
                scope_note=scope_note,
            )
        )
        return handler

    return declare


# ---------------------------------------------------------------------------- checking a request

_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `([^`]+)`")


def _choices(tp: Any) -> list[str]:
    """The values a ``Literal`` type allows, through ``Annotated`` and ``| None``."""
    if get_origin(tp) is Literal:
        return [str(a) for a in get_args(tp)]
    return [c for a in get_args(tp) for c in _choices(a)]


def field_errors(e: msgspec.ValidationError, cls: type | None = None) -> dict[str, str]:
    """msgspec's message as ``{field: what is wrong}``: the field is the path into the body (``links[0].url``).

    A value that is not one of a field's choices gets the choices listed, from ``cls``'s type hints.
    """
    text = str(e)
    at = _AT.search(text)
    where = at.group(1) if at else ""
    message = _AT.sub("", text)
    missing = _MISSING.match(message)
    if missing:
        where = f"{where}.{missing.group(1)}" if where else missing.group(1)
        message = "required"
    message = message.replace("`", "")
    if "matching regex" in message:  # the Text type's pattern: something other than spaces
        message = "required; it must not be blank"
    if message.startswith("Invalid enum value") and cls is not None and where in _field_names(cls):
        choices = _choices(get_type_hints(cls, include_extras=True).get(where))
        if choices:
            message = f"one of {', '.join(choices)} (not {message.split(' ', 3)[-1]})"
    return {where or "body": message[:1].lower() + message[1:]}


def _depth(value: object) -> int:
    """How deeply ``value`` nests, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in attrs.fields(cls))


def decode_body(raw: bytes, media: str, cls: type) -> Any:
    """The body as an instance of ``cls``: 415 unless JSON, 400 unless a JSON object, 422 naming each bad field."""
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedBody(f"send the body as application/json (the request said {media or 'no Content-Type'})")
    try:
        data = msgspec.json.decode(raw or b"{}")
    except msgspec.DecodeError:
        raise MalformedBody("the body must be JSON") from None
    except RecursionError:
        raise MalformedBody(f"the body is nested too deeply (at most {MAX_DEPTH} levels)") from None
    if not isinstance(data, dict):
        raise MalformedBody("the body must be a JSON object")
    if _depth(data) > MAX_DEPTH:
        raise MalformedBody(f"the body is nested too deeply (at most {MAX_DEPTH} levels)")
    known = _field_names(cls)
    unknown = [k for k in data if k not in known]
    if unknown:
        raise InvalidAnswers({k: f"unknown field; the fields are {', '.join(known)}" for k in unknown})
    try:
        return msgspec.convert(data, cls, strict=True)
    except msgspec.ValidationError as e:
        raise InvalidAnswers(field_errors(e, cls)) from None


def decode_query(params: Mapping[str, str], cls: type | None) -> Any:
    """The query string as an instance of ``cls`` (an empty value is no value); 422 naming each bad parameter.

    A parameter the operation does not take is refused too, as a body's unknown field is.
    """
    known = _field_names(cls) if cls is not None else ()
    unknown = [k for k in params if k not in known]
    if unknown:
        takes = f"it takes {', '.join(known)}" if known else "it takes none"
        raise InvalidAnswers(dict.fromkeys(unknown, f"unknown query parameter; {takes}"))
    if cls is None:
        return None
    data = {k: v for k, v in params.items() if v != ""}
    try:
        parsed: Any = msgspec.convert(data, cls, strict=False)
    except msgspec.ValidationError as e:
        raise InvalidAnswers(field_errors(e, cls)) from None
    nulls = [k for k in data if getattr(parsed, k) is None]  # "null" in a query string is no value of any type
    if nulls:
        raise InvalidAnswers(dict.fromkeys(nulls, "expected a value (leave the parameter out for none)"))
    return parsed


def _caller(portal: Portal, authorization: str) -> Caller | None:
    """The caller the bearer token names: a token of the store (counted against its rate limit), else an older one.

    Raises ``RateLimited`` (429) when the token is over the portal's ``api_rate_limit``.
    """
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    older = portal.tokens.check(token)
    if older is not None:
        return Caller(older, OLDER_TOKEN_SCOPES)
    settings = portal.settings
    found = portal.desk.api_token(token, limit=settings.api_rate_limit, window=settings.api_rate_window_seconds)
    return None if found is None else Caller(found.name, tuple(found.scopes))


def _run(op: Operation, portal: Portal, authorization: str, path: Mapping[str, str], query: Any, body: Any) -> Any:
    """In the threadpool, once per request: the token, the scope, the body and query, then the operation."""
    caller = _caller(portal, authorization)
    if caller is None:
        return None
    if op.scope is not None and not caller.allows(op.scope):
        raise MissingScope(op.scope, caller.name, caller.scopes)
    parsed_query = decode_query(query, op.query)
    parsed_body = decode_body(body[1], body[0], op.body) if op.body is not None else None
    # the token's name is who acted: on each event it records as its actor (not the customer's)
    with portal.desk.acting_as(Identity(caller.name, "API token")):
        return (caller, op.handler(Call(portal, caller, path, parsed_body, parsed_query)))


def endpoint(op: Operation) -> Callable[[Request], Any]:
    """The Starlette endpoint of ``op``: every refusal is problem details (:mod:`.problems`)."""

    async def serve(request: Request) -> Response:
        portal = request.app.state.portal
        try:
            body = None
            if op.body is not None:
                media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                body = (media, await request.body())
            done = await run_in_threadpool(
                _run,
                op,
                portal,
                request.headers.get("authorization", ""),
                request.path_params,
                request.query_params,
                body,
            )
        except (ItsmError, ValueError) as e:  # ValueError: a name the desk does not know
            return problem_for(e)
        if done is None:
            return unauthorized()
        caller, value = done
        request.state.api_client = caller.name
        status = op.status
        if isinstance(value, Answered):
            value, status = value.value, value.status
        return Response(msgspec.json.encode(value), status_code=status, media_type="application/json")

    serve.__name__ = op.name
    serve.__doc__ = op.description
    return serve
