"""The JSON API under /api/v1 for integrations: bearer-token auth, an OpenAPI 3.1 schema."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from itsmcore import (
    Actor,
    Announcement,
    CustomerStatus,
    Demand,
    DemandKind,
    DemandState,
    Forbidden,
    Identity,
    InvalidAnswers,
    InvalidInput,
    ItsmError,
    JourneyEvent,
    Link,
    NotFound,
    Review,
    Stage,
    Task,
    TaskState,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .app import call, error_answer, portal_of


class MalformedBody(InvalidInput):
    """The request body is not a JSON object, so there are no fields to check: 400, not 422."""

    http_status = 400


def _status(st: CustomerStatus) -> dict[str, Any]:
    return {
        "sentence": st.sentence,
        "label": st.label,
        "expected": st.expected,
        "finished": st.finished,
        "needs_customer": st.needs_customer,
    }


def _demand(d: Demand, status: CustomerStatus) -> dict[str, Any]:
    """A demand for integrations: the internal state and stage, and ``status``, what its customer is told."""
    return {
        "id": d.id,
        "kind": str(d.kind),
        "customer": d.customer_id,
        "summary": d.summary,
        "details": d.details,
        "service": d.service_key,
        "channel": d.channel,
        "state": str(d.state),
        "stage": str(d.stage),
        "priority": int(d.priority),
        "waiting_for": d.waiting_for,
        "status": _status(status),
        "announcement_id": d.announcement_id,
        "external_ref": d.external_ref,
        "answers": dict(d.answers),
        "created_at": d.created_at.isoformat(),
        "updated_at": d.updated_at.isoformat(),
        "resolved_at": d.resolved_at.isoformat() if d.resolved_at else None,
    }


def _event(e: JourneyEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "stage": str(e.stage),
        "channel": e.channel,
        "actor": e.actor,
        "kind": e.kind,
        "customer_sees": e.customer_sees,
        "behind_scenes": e.behind_scenes,
        "at": e.at.isoformat(),
        "by": {"login": e.by.login, "name": e.by.name} if e.by else None,
        "on_behalf_of": {"login": e.on_behalf_of.login, "name": e.on_behalf_of.name} if e.on_behalf_of else None,
    }


def _announcement(a: Announcement) -> dict[str, Any]:
    return {
        "id": a.id,
        "service": a.service_key,
        "title": a.title,
        "description": a.description,
        "workaround": a.workaround,
        "links": [{"title": x.title, "url": x.url} for x in a.workaround_links],
        "estimate": a.estimate,
        "state": str(a.state),
        "resolution": a.resolution,
        "opened_at": a.opened_at.isoformat(),
        "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
    }


def _task(task: Task) -> dict[str, Any]:
    """A task: a plan step people do, with the milestones it reached so far (oldest first)."""
    return {
        "id": task.id,
        "demand_id": task.demand_id,
        "step": task.step,
        "title": task.title,
        "team": task.team,
        "state": str(task.state),
        "assignee": task.assignee,
        "milestones": [{"name": m.name, "at": m.at.isoformat()} for m in task.milestones],
        "expected": task.expected,
        "expected_at": task.expected_at.isoformat() if task.expected_at else None,
        "created_at": task.created_at.isoformat(),
        "updated_at": task.updated_at.isoformat(),
    }


def _review(r: Review, *, desk_view: bool = False) -> dict[str, Any]:
    """A review as colleagues see it (an anonymous one names nobody), or with ``desk_view`` all the desk knows."""
    out: dict[str, Any] = {
        "id": r.id,
        "service": r.service_key,
        "rating": r.rating,
        "text": r.text,
        "by": r.shown_as,
        "customer": None if r.anonymous else r.customer_id,
        "anonymous": r.anonymous,
        "at": r.at.isoformat(),
    }
    if desk_view:
        out.update(
            customer=r.customer_id,
            demand_id=r.demand_id,
            hidden=r.hidden,
            hidden_by=r.hidden_by,
            hidden_reason=r.hidden_reason,
        )
    return out


#: What a token may be allowed to do (``itsmcore.desk.tokens.SCOPES``); ``admin`` allows everything.
SCOPES = ("read", "write", "agent", "admin")
#: What the tokens of ``api_tokens_env`` and ``api_tokens_file`` (the older way) may do: all but ``admin``.
OLDER_TOKEN_SCOPES = ("read", "write", "agent")


@attrs.frozen
class Caller:
    """Who is calling: the API token's name (the actor of what it does on a journey) and its scopes."""

    name: str
    scopes: tuple[str, ...]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


class MissingScope(Forbidden):
    """The token is valid but lacks the scope the operation needs: 403, naming the scope."""

    def __init__(self, scope: str, caller: Caller):
        self.scope = scope
        has = ", ".join(caller.scopes) or "none"
        super().__init__(
            f"this needs an API token with the {scope!r} scope; token {caller.name!r} has {has} "
            f"(make one with 'itsm api-token new NAME --scope {scope}')"
        )


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"error": "a valid API token is required (Authorization: Bearer TOKEN)"},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="itsm"'},
    )


async def _caller(request: Request) -> Caller | None:
    """The caller the bearer token names: a token of the store (counted against its rate limit), else an older one.

    Raises ``RateLimited`` (429) when the token is over the portal's ``api_rate_limit``.
    """
    portal = portal_of(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    older = portal.tokens.check(token)
    if older is not None:
        return Caller(older, OLDER_TOKEN_SCOPES)
    settings = portal.settings
    found = await call(
        portal.desk.api_token, token, limit=settings.api_rate_limit, window=settings.api_rate_window_seconds
    )
    return None if found is None else Caller(found.name, tuple(found.scopes))


def need(request: Request, scope: str) -> Caller:
    """The caller, if its token has ``scope`` (``admin`` has every scope); :class:`MissingScope` (403) otherwise."""
    caller: Caller = request.state.api_caller
    if not caller.allows(scope):
        raise MissingScope(scope, caller)
    return caller


def _endpoint(scope: str | None) -> Callable[[Any], Any]:
    """Token check (401), rate limit (429), the ``scope`` the operation needs (403), then the operation.

    ``scope`` ``None``: the operation decides with :func:`need` (a comment needs ``write`` as
    the customer, ``agent`` otherwise). Every refusal is answered by
    :func:`~itsm_portal.app.error_answer`; a missing scope adds ``scope`` to the body.
    """

    def decorate(fn: Any) -> Any:
        async def wrapped(request: Request) -> Response:
            try:
                caller = await _caller(request)
                if caller is None:
                    return _unauthorized()
                request.state.api_caller = caller
                request.state.api_client = caller.name
                if scope is not None:
                    need(request, scope)
                # the token's name is who acted: on each event it records as its actor (not the customer's)
                with portal_of(request).desk.acting_as(Identity(caller.name, "API token")):
                    return await fn(request)
            except MissingScope as e:
                answer = error_answer(e)
                return JSONResponse({"error": str(e), "scope": e.scope}, status_code=answer.status_code)
            except (ItsmError, ValueError) as e:  # ValueError: a name the desk does not know
                return error_answer(e)

        wrapped.__name__ = fn.__name__
        wrapped.__doc__ = fn.__doc__
        wrapped.scope = scope  # type: ignore[attr-defined]
        return wrapped

    return decorate


class UnsupportedBody(InvalidInput):
    """The body is not declared as JSON (``Content-Type``): 415, before anything is read."""

    http_status = 415


#: How deeply a request's JSON may nest: no operation takes more than a few levels.
MAX_DEPTH = 32


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


async def _body(request: Request) -> dict[str, Any]:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedBody(f"send the body as application/json (the request said {media or 'no Content-Type'})")
    try:
        data = json.loads(await request.body() or b"{}")
    except RecursionError:
        raise MalformedBody(f"the body is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError:
        raise MalformedBody("the body must be JSON") from None
    if not isinstance(data, dict):
        raise MalformedBody("the body must be a JSON object")
    if _depth(data) > MAX_DEPTH:
        raise MalformedBody(f"the body is nested too deeply (at most {MAX_DEPTH} levels)")
    return data


def _str(data: Mapping[str, Any], name: str, *, required: bool = False, default: str = "") -> str:
    value = data.get(name, default)
    if value is None:
        value = default
    if not isinstance(value, str):
        raise InvalidAnswers({name: "expected a string"})
    if required and not value.strip():
        raise InvalidAnswers({name: "required"})
    return value


def _id(request: Request, name: str = "did") -> int:
    """A record id from the path; anything that cannot be one (too long for the store, not digits) is a 404."""
    value = request.path_params[name]
    if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18):
        raise NotFound("not found")
    return int(value)


def _limit(request: Request) -> int:
    try:
        return min(500, max(1, int(request.query_params.get("limit", "100"))))
    except ValueError:
        raise InvalidAnswers({"limit": "expected a whole number"}) from None


def _actor(request: Request, data: Mapping[str, Any], customer_default: str | None = None) -> str:
    """Who a change is recorded as on the journey: the token's name, or ``customer`` when it relays the customer.

    The body's ``actor`` may say ``customer`` where the customer is acting (a submission,
    which is the default there); anything else the integration does is its own act, and
    the token's name is recorded whatever the body says.
    """
    said = _str(data, "actor") or customer_default
    return Actor.CUSTOMER if said == Actor.CUSTOMER else str(request.state.api_caller.name)


# ---------------------------------------------------------------------------- operations


@_endpoint("read")
async def list_demands(request: Request) -> Response:
    desk = portal_of(request).desk
    q = request.query_params
    limit = _limit(request)
    try:
        demands = await call(
            desk.list_demands,
            customer=q.get("customer") or None,
            kind=q.get("kind") or None,
            state=q.get("state") or None,
            service=q.get("service") or None,
            open_only=q.get("open") in ("1", "true", "yes"),
            limit=limit,
        )
    except ValueError as e:
        raise InvalidInput(f"invalid filter: {e}") from None
    statuses = await call(lambda: [desk.customer_status(d) for d in demands])
    return JSONResponse({"demands": [_demand(d, st) for d, st in zip(demands, statuses, strict=True)]})


@_endpoint("read")
async def read_demand(request: Request) -> Response:
    desk = portal_of(request).desk
    view = await call(desk.show, _id(request))
    return JSONResponse(
        {
            **_demand(view.demand, await call(desk.customer_status, view.demand)),
            "journey": [_event(e) for e in view.journey],
            "outputs": json.loads(json.dumps(dict(view.outputs), default=str)),
        }
    )


@_endpoint("write")
async def submit(request: Request) -> Response:
    desk = portal_of(request).desk
    data = await _body(request)
    answers = data.get("answers") or {}
    if not isinstance(answers, dict):
        raise InvalidAnswers({"answers": "expected an object of name: value"})
    kind = _str(data, "kind") or None
    if kind is not None and kind not in {str(k) for k in DemandKind}:
        raise InvalidAnswers({"kind": "value, failure or information"})
    receipt = await call(
        desk.submit,
        kind,
        _str(data, "customer", required=True),
        _str(data, "summary"),
        service=_str(data, "service") or None,
        details=_str(data, "details"),
        answers=answers,
        channel=_str(data, "channel", default="api") or "api",
        actor=_actor(request, data, Actor.CUSTOMER),
        external_ref=_str(data, "external_ref") or None,
    )
    return JSONResponse(
        {
            "demand": _demand(receipt.demand, await call(desk.customer_status, receipt.demand)),
            "acknowledgement": receipt.acknowledgement,
            "links": [{"title": x.title, "url": x.url} for x in receipt.links],
            "duplicate": receipt.duplicate,
        },
        status_code=200 if receipt.duplicate else 201,
    )


@_endpoint(None)
async def comment(request: Request) -> Response:
    desk = portal_of(request).desk
    data = await _body(request)
    as_customer = _str(data, "actor") == Actor.CUSTOMER
    caller = need(request, "write" if as_customer else "agent")
    ev = await call(
        desk.comment,
        _id(request),
        _str(data, "text", required=True)[:4000],
        actor=Actor.CUSTOMER if as_customer else caller.name,
        channel=_str(data, "channel") or None,
        reply=not as_customer,
    )
    return JSONResponse(_event(ev), status_code=201)


@_endpoint("agent")
async def advance(request: Request) -> Response:
    """Move the journey to a stage, or the demand to a state (``state``), with what the customer sees."""
    desk = portal_of(request).desk
    data = await _body(request)
    did = _id(request)
    if data.get("state"):
        state = _str(data, "state")
        if state not in {str(s) for s in DemandState}:
            raise InvalidAnswers({"state": f"one of {', '.join(str(s) for s in DemandState)}"})
        demand = await call(
            desk.transition,
            did,
            state,
            actor=_actor(request, data),
            customer_sees=_str(data, "customer_sees"),
            behind_scenes=_str(data, "behind_scenes"),
        )
        return JSONResponse(_demand(demand, await call(desk.customer_status, demand)))
    stage = _str(data, "stage", required=True)
    if stage not in {str(s) for s in Stage}:
        raise InvalidAnswers({"stage": f"one of {', '.join(str(s) for s in Stage)}"})
    ev = await call(
        desk.advance,
        did,
        stage,
        actor=_actor(request, data),
        customer_sees=_str(data, "customer_sees"),
        behind_scenes=_str(data, "behind_scenes"),
    )
    return JSONResponse(_event(ev), status_code=201)


@_endpoint("read")
async def list_tasks(request: Request) -> Response:
    """Tasks, oldest first (the order a team works them in), filtered by team, state, demand."""
    desk = portal_of(request).desk
    q = request.query_params
    state = q.get("state") or None
    if state is not None and state not in {str(s) for s in TaskState}:
        raise InvalidAnswers({"state": f"one of {', '.join(str(s) for s in TaskState)}"})
    demand = q.get("demand") or None
    if demand is not None and not demand.isdigit():
        raise InvalidAnswers({"demand": "expected a demand id"})
    tasks = await call(
        desk.tasks,
        state=state,
        team=q.get("team") or None,
        demand_id=int(demand) if demand else None,
        open_only=q.get("open") in ("1", "true", "yes"),
        limit=_limit(request),
    )
    return JSONResponse({"tasks": [_task(x) for x in tasks]})


@_endpoint("agent")
async def task_milestone(request: Request) -> Response:
    """Record that a task reached one of its step's milestones; the customer's journey says so."""
    desk = portal_of(request).desk
    data = await _body(request)
    tid = _id(request, "tid")
    allowed = await call(desk.task_milestones, tid)  # NotFound: 404
    listing = ", ".join(allowed) if allowed else "none (this task has no milestones)"
    name = _str(data, "milestone").strip()
    if not name:
        raise InvalidAnswers({"milestone": f"required; one of {listing}"})
    try:
        task = await call(desk.task_milestone, tid, name, actor=_actor(request, data))
    except InvalidInput:  # not one of the step's milestones
        raise InvalidAnswers({"milestone": f"one of {listing}"}) from None
    return JSONResponse(_task(task))


@_endpoint("read")
async def list_announcements(request: Request) -> Response:
    desk = portal_of(request).desk
    anns = await call(desk.announcements, open_only=request.query_params.get("open") in ("1", "true", "yes"))
    return JSONResponse({"announcements": [_announcement(a) for a in anns]})


@_endpoint("agent")
async def announce(request: Request) -> Response:
    desk = portal_of(request).desk
    data = await _body(request)
    links_raw = data.get("links") or []
    if not isinstance(links_raw, list) or not all(
        isinstance(x, dict) and isinstance(x.get("url"), str) for x in links_raw
    ):
        raise InvalidAnswers({"links": "expected a list of {title, url}"})
    ann = await call(
        desk.open_announcement,
        _str(data, "service", required=True),
        _str(data, "title", required=True),
        description=_str(data, "description"),
        workaround=_str(data, "workaround"),
        links=[Link(title=str(x.get("title") or x["url"]), url=x["url"]) for x in links_raw],
        estimate=_str(data, "estimate"),
        source=_str(data, "source", default=request.state.api_client) or request.state.api_client,
    )
    return JSONResponse(_announcement(ann), status_code=201)


@_endpoint("agent")
async def resolve_announcement(request: Request) -> Response:
    desk = portal_of(request).desk
    data = await _body(request)
    ann = await call(desk.resolve_announcement, _id(request, "aid"), _str(data, "resolution", required=True))
    return JSONResponse(_announcement(ann))


@_endpoint("write")
async def confirm(request: Request) -> Response:
    desk = portal_of(request).desk
    data = await _body(request)
    fixed = data.get("fixed")
    if not isinstance(fixed, bool):
        raise InvalidAnswers({"fixed": "true or false"})
    did = await call(desk.confirm, _str(data, "token", required=True), fixed)
    return JSONResponse({"demand_id": did})


@_endpoint("write")
async def survey(request: Request) -> Response:
    desk = portal_of(request).desk
    data = await _body(request)
    score = data.get("score")
    if isinstance(score, bool) or not isinstance(score, int):
        raise InvalidAnswers({"score": "a whole number"})
    response = await call(
        desk.answer_survey,
        score,
        token=_str(data, "token", required=True),
        comment=_str(data, "comment")[:4000],
        channel=_str(data, "channel", default="api") or "api",
    )
    return JSONResponse({"id": response.id, "method": response.method, "score": response.score}, status_code=201)


@_endpoint("read")
async def catalog(request: Request) -> Response:
    desk = portal_of(request).desk
    q = request.query_params.get("q", "")
    customer = request.query_params.get("customer") or None
    hits = await call(desk.search, q[:200], customer=customer, limit=20)
    return JSONResponse(
        {
            "query": q,
            "results": [
                {
                    "key": h.service.key,
                    "name": h.service.name,
                    "description": h.service.description,
                    "kind": str(h.service.kind),
                    "eligible": h.eligible,
                    "reason": h.reason,
                    "next_step": h.next_step,
                    "score": h.score,
                }
                for h in hits
            ],
        }
    )


@_endpoint("read")
async def service_reviews(request: Request) -> Response:
    """A service's average rating, count and visible reviews; ``hidden=1`` adds hidden ones, as the desk sees them."""
    desk = portal_of(request).desk
    key = request.path_params["key"]
    await call(desk.get_service, key)  # UnknownService: 404
    desk_view = request.query_params.get("hidden") in ("1", "true", "yes")
    if desk_view:
        need(request, "agent")  # hidden reviews, with who hid them and why: the desk's view
    summary = await call(desk.review_summary, key, recent=0)
    found = await call(desk.reviews, key, include_hidden=desk_view, limit=200)
    return JSONResponse(
        {
            "service": key,
            "average": summary.average,
            "count": summary.count,
            "reviews": [_review(r, desk_view=desk_view) for r in found],
        }
    )


@_endpoint("write")
async def review(request: Request) -> Response:
    """The customer's review of the service of their fulfilled (or closed) value demand."""
    desk = portal_of(request).desk
    data = await _body(request)
    rating = data.get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int):
        raise InvalidAnswers({"rating": "a whole number from 1 to 5"})
    anonymous = data.get("anonymous", False)
    if not isinstance(anonymous, bool):
        raise InvalidAnswers({"anonymous": "true or false"})
    written = await call(
        desk.review,
        _id(request),
        _str(data, "customer", required=True),
        rating,
        _str(data, "text"),
        anonymous=anonymous,
        channel=_str(data, "channel", default="api") or "api",
    )
    return JSONResponse(_review(written, desk_view=True), status_code=201)


def _token(token: Any) -> dict[str, Any]:
    """An API token as the API shows it: never the secret (only :func:`new_token` shows that, once)."""
    return {
        "name": token.name,
        "scopes": list(token.scopes),
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


@_endpoint("admin")
async def list_tokens(request: Request) -> Response:
    """The API tokens of the store by name (revoked ones too), without their secrets."""
    found = await call(portal_of(request).desk.api_tokens)
    return JSONResponse({"tokens": [_token(x) for x in found]})


@_endpoint("admin")
async def new_token(request: Request) -> Response:
    """A new API token for an integration; the answer holds the token, shown this once."""
    data = await _body(request)
    scopes = data.get("scopes")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(x, str) for x in scopes):
        raise InvalidAnswers({"scopes": "a list of one or more of read, write, agent, admin"})
    made, secret = await call(portal_of(request).desk.new_api_token, _str(data, "name", required=True), scopes)
    return JSONResponse({**_token(made), "token": secret}, status_code=201)


@_endpoint("admin")
async def revoke_token(request: Request) -> Response:
    """Revoke an API token by name: refused by every process from its next request."""
    revoked = await call(portal_of(request).desk.revoke_api_token, request.path_params["name"])
    return JSONResponse(_token(revoked))


async def openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


def routes() -> Sequence[Route]:
    return [
        Route("/openapi.json", openapi),
        Route("/demands", list_demands, methods=["GET"]),
        Route("/demands", submit, methods=["POST"]),
        Route("/demands/{did}", read_demand, methods=["GET"]),
        Route("/demands/{did}/comments", comment, methods=["POST"]),
        Route("/demands/{did}/advance", advance, methods=["POST"]),
        Route("/demands/{did}/review", review, methods=["POST"]),
        Route("/services/{key}/reviews", service_reviews, methods=["GET"]),
        Route("/tasks", list_tasks, methods=["GET"]),
        Route("/tasks/{tid}/milestones", task_milestone, methods=["POST"]),
        Route("/announcements", list_announcements, methods=["GET"]),
        Route("/announcements", announce, methods=["POST"]),
        Route("/announcements/{aid}/resolve", resolve_announcement, methods=["POST"]),
        Route("/confirm", confirm, methods=["POST"]),
        Route("/survey", survey, methods=["POST"]),
        Route("/catalog", catalog, methods=["GET"]),
        Route("/tokens", list_tokens, methods=["GET"]),
        Route("/tokens", new_token, methods=["POST"]),
        Route("/tokens/{name}/revoke", revoke_token, methods=["POST"]),
    ]


# ---------------------------------------------------------------------------- OpenAPI


def _op(
    summary: str,
    *,
    body: str | None = None,
    params: Sequence[dict[str, Any]] = (),
    ok: str = "200",
    conflict: bool = False,
    schema: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One operation; ``conflict`` when the thing it changes can be in the wrong state for it (409).

    ``schema`` describes the answer when it has a named shape (a demand); any object otherwise.
    """
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}],
        "responses": {
            ok: {"description": "OK", "content": {"application/json": {"schema": schema or {"type": "object"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "404": {"$ref": "#/components/responses/Error"},
            "422": {"$ref": "#/components/responses/Error"},
        },
    }
    if body:
        op["responses"]["400"] = {"$ref": "#/components/responses/Error"}
    if conflict:
        op["responses"]["409"] = {"$ref": "#/components/responses/Error"}
    if params:
        op["parameters"] = list(params)
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return op


def _q(name: str, description: str, type_: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": {"type": type_}}


def _p(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


_STR = {"type": "string"}
_DEMAND = {"$ref": "#/components/schemas/Demand"}
_REVIEW = {"$ref": "#/components/schemas/Review"}
_TASK = {"$ref": "#/components/schemas/Task"}
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "itsm portal API",
        "version": "1",
        "description": "Demands, tasks, announcements, confirmations, surveys and catalog search of an itsmcore deployment.",
    },
    "servers": [{"url": "/api/v1"}],
    "paths": {
        "/demands": {
            "get": _op(
                "List demands, newest first",
                params=[
                    _q("customer", "customer id"),
                    _q("kind", "value, failure or information"),
                    _q("state", "a demand state"),
                    _q("service", "service key"),
                    _q("open", "1 for open demands only"),
                    _q("limit", "at most this many (1-500)", "integer"),
                ],
                schema={"type": "object", "properties": {"demands": {"type": "array", "items": _DEMAND}}},
            ),
            "post": _op("Submit a demand", body="Submission", ok="201"),
        },
        "/demands/{did}": {"get": _op("A demand with its journey", params=[_p("did")], schema=_DEMAND)},
        "/demands/{did}/comments": {"post": _op("Comment on a demand", body="Comment", params=[_p("did")], ok="201")},
        "/demands/{did}/advance": {
            "post": _op(
                "Move a demand's journey to a stage, or the demand to a state",
                body="Advance",
                params=[_p("did")],
                conflict=True,
            )
        },
        "/demands/{did}/review": {
            "post": _op(
                "Review the service of a fulfilled (or closed) value demand, once, as its customer",
                body="ReviewSubmission",
                params=[_p("did")],
                ok="201",
                conflict=True,
                schema=_REVIEW,
            )
        },
        "/services/{key}/reviews": {
            "get": _op(
                "A service's average rating, count and reviews, newest first",
                params=[
                    {"name": "key", "in": "path", "required": True, "schema": _STR},
                    _q("hidden", "1 to add the reviews the desk hid, with who hid them and why"),
                ],
                schema={
                    "type": "object",
                    "properties": {
                        "service": _STR,
                        "average": {"type": ["number", "null"]},
                        "count": {"type": "integer"},
                        "reviews": {"type": "array", "items": _REVIEW},
                    },
                },
            )
        },
        "/tasks": {
            "get": _op(
                "List tasks (plan steps people do), oldest first",
                params=[
                    _q("team", "the team the task is with"),
                    _q("state", ", ".join(str(s) for s in TaskState)),
                    _q("demand", "the demand's id", "integer"),
                    _q("open", "1 for tasks not done only"),
                    _q("limit", "at most this many (1-500)", "integer"),
                ],
                schema={"type": "object", "properties": {"tasks": {"type": "array", "items": _TASK}}},
            )
        },
        "/tasks/{tid}/milestones": {
            "post": _op(
                "Record a milestone the task reached (the last one finishes it); 409 for a done task"
                " or a milestone reached already, 422 naming the step's milestones",
                body="Milestone",
                params=[_p("tid")],
                conflict=True,
                schema=_TASK,
            )
        },
        "/announcements": {
            "get": _op("List announcements", params=[_q("open", "1 for open ones only")]),
            "post": _op("Open an announcement", body="Announcement", ok="201"),
        },
        "/announcements/{aid}/resolve": {
            "post": _op("Resolve an announcement", body="Resolution", params=[_p("aid")], conflict=True)
        },
        "/confirm": {"post": _op("Answer a signed confirm link", body="Confirmation", conflict=True)},
        "/survey": {"post": _op("Answer a signed survey link", body="SurveyAnswer", ok="201", conflict=True)},
        "/catalog": {
            "get": _op(
                "Search the catalog", params=[_q("q", "what to look for"), _q("customer", "say if they can have it")]
            )
        },
        "/tokens": {
            "get": _op("List the API tokens (never their secrets)"),
            "post": _op(
                "Make an API token; the answer holds it, shown this once", body="NewToken", ok="201", conflict=True
            ),
        },
        "/tokens/{name}/revoke": {
            "post": _op(
                "Revoke an API token: refused at once everywhere",
                params=[{"name": "name", "in": "path", "required": True, "schema": _STR}],
            )
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "responses": {
            "Unauthorized": {"description": "No valid API token (missing, unknown or revoked)"},
            "MissingScope": {
                "description": "The token lacks the scope the operation needs; ``scope`` names it",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["error", "scope"],
                            "properties": {"error": _STR, "scope": {"enum": list(SCOPES)}},
                        }
                    }
                },
            },
            "RateLimited": {
                "description": "The token made more requests than the portal's api_rate_limit allows; see Retry-After",
                "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}},
                "content": {"application/json": {"schema": {"type": "object", "properties": {"error": _STR}}}},
            },
            "Error": {
                "description": (
                    "An error with a message; per-field messages for invalid input (422); for a conflict (409)"
                    " the state the thing is in and what may be asked of it from there"
                ),
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["error"],
                            "properties": {
                                "error": _STR,
                                "errors": {"type": "object", "additionalProperties": _STR},
                                "state": {"type": ["string", "null"]},
                                "allowed": {"type": "array", "items": _STR},
                                "next_step": _STR,
                            },
                        }
                    }
                },
            },
        },
        "schemas": {
            "CustomerStatus": {
                "type": "object",
                "description": "Where the demand stands in its customer's words: the same on every channel",
                "required": ["sentence", "label", "expected", "finished", "needs_customer"],
                "properties": {
                    "sentence": {**_STR, "description": "what the customer reads"},
                    "label": {**_STR, "description": "a short plain tag, e.g. 'Waiting for approval'"},
                    "expected": {"type": ["string", "null"], "description": "when it should be done, if known"},
                    "finished": {"type": "boolean", "description": "the outcome is reached or the demand stopped"},
                    "needs_customer": {"type": "boolean", "description": "the next move is the customer's"},
                },
            },
            "Demand": {
                "type": "object",
                "description": "A demand; state and stage are internal names, status is what the customer is told",
                "required": ["id", "kind", "state", "stage", "status"],
                "properties": {
                    "id": {"type": "integer"},
                    "kind": {"enum": [str(k) for k in DemandKind]},
                    "customer": _STR,
                    "summary": _STR,
                    "details": _STR,
                    "service": {"type": ["string", "null"]},
                    "channel": _STR,
                    "state": {"enum": [str(s) for s in DemandState]},
                    "stage": {"enum": [str(s) for s in Stage]},
                    "priority": {"type": "integer"},
                    "waiting_for": {"type": ["string", "null"]},
                    "status": {"$ref": "#/components/schemas/CustomerStatus"},
                    "announcement_id": {"type": ["integer", "null"]},
                    "external_ref": {"type": ["string", "null"]},
                    "answers": {"type": "object"},
                    "created_at": _STR,
                    "updated_at": _STR,
                    "resolved_at": {"type": ["string", "null"]},
                },
            },
            "Submission": {
                "type": "object",
                "required": ["customer"],
                "properties": {
                    "kind": {"enum": ["value", "failure", "information"]},
                    "customer": _STR,
                    "summary": _STR,
                    "service": _STR,
                    "details": _STR,
                    "answers": {"type": "object", "additionalProperties": _STR},
                    "channel": _STR,
                    "actor": _STR,
                    "external_ref": _STR,
                },
            },
            "Comment": {
                "type": "object",
                "required": ["text"],
                "properties": {"text": _STR, "actor": _STR, "channel": _STR},
            },
            "Advance": {
                "type": "object",
                "properties": {
                    "stage": {"enum": [str(s) for s in Stage]},
                    "state": _STR,
                    "customer_sees": _STR,
                    "behind_scenes": _STR,
                    "actor": _STR,
                },
            },
            "Announcement": {
                "type": "object",
                "required": ["service", "title"],
                "properties": {
                    "service": _STR,
                    "title": _STR,
                    "description": _STR,
                    "workaround": _STR,
                    "estimate": _STR,
                    "source": _STR,
                    "links": {
                        "type": "array",
                        "items": {"type": "object", "required": ["url"], "properties": {"title": _STR, "url": _STR}},
                    },
                },
            },
            "Task": {
                "type": "object",
                "description": "A plan step people do; the customer follows its milestones like a parcel",
                "required": ["id", "demand_id", "title", "state", "milestones"],
                "properties": {
                    "id": {"type": "integer"},
                    "demand_id": {"type": "integer"},
                    "step": {"type": "integer"},
                    "title": _STR,
                    "team": {"type": ["string", "null"]},
                    "state": {"enum": [str(s) for s in TaskState]},
                    "assignee": {"type": ["string", "null"]},
                    "milestones": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"name": _STR, "at": _STR}},
                    },
                    "expected": _STR,
                    "expected_at": {"type": ["string", "null"]},
                    "created_at": _STR,
                    "updated_at": _STR,
                },
            },
            "Milestone": {
                "type": "object",
                "required": ["milestone"],
                "properties": {
                    "milestone": {**_STR, "description": "one of the milestones the task's plan step names"},
                    "actor": _STR,
                },
            },
            "Resolution": {"type": "object", "required": ["resolution"], "properties": {"resolution": _STR}},
            "Confirmation": {
                "type": "object",
                "required": ["token", "fixed"],
                "properties": {"token": _STR, "fixed": {"type": "boolean"}},
            },
            "ReviewSubmission": {
                "type": "object",
                "required": ["customer", "rating"],
                "properties": {
                    "customer": {**_STR, "description": "the demand's customer; anyone else gets 404"},
                    "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                    "text": {**_STR, "description": "at most the deployment's review_max_chars (default 1,000)"},
                    "anonymous": {"type": "boolean", "description": "colleagues see 'a colleague'; the desk sees who"},
                    "channel": _STR,
                },
            },
            "Review": {
                "type": "object",
                "description": "A review; an anonymous one has no customer unless the desk's view was asked for",
                "required": ["id", "service", "rating", "text", "by", "anonymous", "at"],
                "properties": {
                    "id": {"type": "integer"},
                    "service": _STR,
                    "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                    "text": _STR,
                    "by": {**_STR, "description": "the reviewer's name, or 'a colleague'"},
                    "customer": {"type": ["string", "null"]},
                    "anonymous": {"type": "boolean"},
                    "at": _STR,
                    "demand_id": {"type": "integer"},
                    "hidden": {"type": "boolean"},
                    "hidden_by": {"type": ["string", "null"]},
                    "hidden_reason": _STR,
                },
            },
            "NewToken": {
                "type": "object",
                "required": ["name", "scopes"],
                "properties": {
                    "name": {**_STR, "description": "the integration; recorded as the actor of what it does"},
                    "scopes": {"type": "array", "items": {"enum": list(SCOPES)}, "minItems": 1},
                },
            },
            "SurveyAnswer": {
                "type": "object",
                "required": ["token", "score"],
                "properties": {"token": _STR, "score": {"type": "integer"}, "comment": _STR},
            },
        },
    },
}


#: What an operation needs, where it is more than one scope.
_SCOPE_NOTE = {
    "/demands/{did}/comments": "Needs the `write` scope with `actor: customer` (the demand's customer speaks), "
    "`agent` otherwise (a reply, recorded under the token's name).",
    "/services/{key}/reviews": "Needs the `read` scope, and `agent` too for `hidden=1`.",
}


def _add_scopes(schema: dict[str, Any]) -> None:
    """Each operation's scope (``x-scope``, a note, 403 and 429), from the scope its endpoint checks."""
    for route in routes():
        scope = getattr(route.endpoint, "scope", "-")
        if scope == "-":
            continue
        for method in route.methods or ():
            op = schema["paths"].get(route.path, {}).get(method.lower())
            if op is None:
                continue
            op["x-scope"] = scope  # null: the comment's scope depends on its actor (see the description)
            note = _SCOPE_NOTE.get(route.path, f"Needs the `{scope}` scope.")
            op["description"] = note + " Tokens with `admin` may do everything."
            op["responses"]["403"] = {"$ref": "#/components/responses/MissingScope"}
            op["responses"]["429"] = {"$ref": "#/components/responses/RateLimited"}


_add_scopes(OPENAPI)
