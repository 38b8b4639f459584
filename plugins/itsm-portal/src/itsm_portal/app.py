"""The Starlette application: customer pages, service desk pages, the JSON API and /healthz.

A thin layer over :class:`itsmcore.Desk`: every desk call runs in the threadpool, every
page is rendered on the server (Jinja2, autoescape on), and the little JavaScript there
is only makes what already works without it quicker.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import attrs
from itsmcore import (
    N_,
    Conflict,
    Customer,
    IneligibleCustomer,
    InvalidInput,
    ItsmError,
    TemporaryFailure,
    TooManyAttempts,
    log_context,
)
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .security import CSRF_FIELD, CSRF_HEADER, ApiTokens, csrf_ok
from .settings import PortalSettings

if TYPE_CHECKING:
    from itsmcore import Desk

T = TypeVar("T")
HERE = Path(__file__).parent
log = logging.getLogger("itsm_portal")
#: What anyone is told when a desk call could not be answered for now (a directory outage): no server names.
UNAVAILABLE = "This is unavailable right now. Please try again shortly."
SIGN_IN_UNAVAILABLE = N_("Sign-in is unavailable, try again shortly.")
#: Seconds a client is asked to wait after an outage answer (Retry-After).
SIGN_IN_RETRY_AFTER = 30


# ---------------------------------------------------------------------------- the portal object


class Portal:
    """What every request needs: the desk, the settings, templates, limits and tokens."""

    def __init__(self, desk: Desk, settings: PortalSettings, *, owns_desk: bool = False):
        self.desk = desk
        self.settings = settings
        self.owns_desk = owns_desk
        self.sign_in_limit = sign_in_limit(desk, settings)
        token_file = None
        if settings.api_tokens_file:
            p = Path(settings.api_tokens_file)
            token_file = p if p.is_absolute() else desk.config.base_dir / p
        self.tokens = ApiTokens.load(settings.api_tokens_env, token_file)
        if len(self.tokens):
            log.info(
                "%d API token(s) from api_tokens_env or api_tokens_file, the older way: each has every scope but "
                "admin and no rate limit; prefer 'itsm api-token new NAME --scope ...' (kept in the store)",
                len(self.tokens),
            )
        self.agent_groups = {g.casefold() for g in settings.agent_groups}
        self.search_cache = TTLCache(settings.search_cache_seconds)
        from .languages import READER_LANGUAGE_SECONDS

        #: Each reader's language as last read, by customer id (itsm_portal.languages.known_translator).
        self.reader_languages = TTLCache(READER_LANGUAGE_SECONDS)
        from .views import make_templates

        self.templates: Jinja2Templates = make_templates(self)
        #: The templates per language a customer reads them in (itsm_portal.languages).
        self.templates_by_language: dict[str, Jinja2Templates] = {}

    def is_agent(self, customer: Customer | None) -> bool:
        return customer is not None and bool({g.casefold() for g in customer.groups} & self.agent_groups)

    @property
    def secure_cookies(self) -> bool:
        mode = self.settings.cookie_secure.lower()
        if mode == "always":
            return True
        if mode == "never":
            return False
        return self.desk.config.deployment.public_url.lower().startswith("https://")


def sign_in_limit(desk: Desk, settings: PortalSettings) -> dict[str, Any]:
    """The portal's own sign-in limit, for :meth:`Desk.authenticate`: none unless the deprecated settings are used.

    Sign-ins are counted by the desk, in the database, under the deployment's ``[security]``
    limits. A deployment that still sets ``sign_in_attempts`` / ``sign_in_window_seconds``
    under the portal keeps the limit it asked for (never silently a weaker one), and is
    told where the setting lives now.
    """
    limit: dict[str, Any] = {}
    if settings.sign_in_attempts is not None:
        limit["attempts"] = settings.sign_in_attempts
    if settings.sign_in_window_seconds is not None:
        limit["window"] = timedelta(seconds=settings.sign_in_window_seconds)
    if limit:
        log.warning(
            "the portal's sign_in_attempts and sign_in_window_seconds are deprecated: set [security] "
            "sign_in_attempts and sign_in_window_minutes in %s instead; until then the portal's values are used",
            desk.config.path.name,
        )
    return limit


class TTLCache:
    """A small cache of recent results (search as you type repeats itself); ``ttl`` 0 turns it off."""

    def __init__(self, ttl: float, size: int = 2048):
        self.ttl, self.size = ttl, size
        self._items: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> Any:
        if self.ttl <= 0:
            return None
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, key: Any, value: Any) -> None:
        if self.ttl <= 0:
            return
        if len(self._items) >= self.size:
            now = time.monotonic()
            self._items = {k: v for k, v in self._items.items() if v[0] >= now}
            if len(self._items) >= self.size:
                self._items.clear()
        self._items[key] = (time.monotonic() + self.ttl, value)

    def drop(self, key: Any) -> None:
        """Forget ``key`` (its value changed)."""
        self._items.pop(key, None)


def portal_settings(desk: Desk) -> PortalSettings:
    """The settings of the deployment's ``portal`` channel, else a top-level ``[portal]`` table, else defaults."""
    for cc in desk.config.family("channels").values():
        if cc.use == "portal" and isinstance(cc.settings, PortalSettings):
            return cc.settings
    raw = desk.config.extra.get("portal")
    if isinstance(raw, Mapping) and raw:
        fields = {f.name for f in attrs.fields(PortalSettings)}
        unknown = set(raw) - fields
        if unknown:
            raise ValueError(
                f"[portal]: unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(fields))}"
            )
        return PortalSettings(**raw)
    return PortalSettings()


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a (blocking) desk call in the threadpool."""
    return await run_in_threadpool(fn, *args, **kwargs)


def portal_of(request: Request) -> Portal:
    return request.app.state.portal


# ---------------------------------------------------------------------------- control flow


class Redirect(Exception):
    def __init__(self, url: str):
        self.url = url


class NotSignedIn(Exception):
    pass


def _session_customer(desk: Desk, token: str) -> Customer | None:
    """The customer of a live session, in one trip to the threadpool."""
    cid = desk.session_customer(token)
    return desk.find_customer(cid) if cid is not None else None


async def current_customer(request: Request) -> Customer | None:
    """The signed-in customer: the cookie's session token names a live session in the store.

    The cookie alone proves nothing: a session ended at sign-out (or by ``itsm customer
    sign-out``) is refused at once, on every process, however valid its signature.
    """
    token = request.session.get("sid")
    if not isinstance(token, str):
        return None
    cached = request.scope.get("itsm.customer")
    if cached is not None:
        return cached
    customer = await call(_session_customer, portal_of(request).desk, token)
    if customer is None:  # ended, expired, or removed from the directory since signing in
        request.session.pop("sid", None)
        return None
    request.scope["itsm.customer"] = customer
    return customer


async def need_customer(request: Request) -> Customer:
    customer = await current_customer(request)
    if customer is None:
        raise NotSignedIn()
    return customer


async def need_agent(request: Request) -> Customer:
    customer = await need_customer(request)
    if not portal_of(request).is_agent(customer):
        raise HTTPException(403, "These pages are for the service desk.")
    return customer


async def checked_form(request: Request) -> FormData:
    """The posted form, after checking its CSRF token against the session (403 otherwise)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not csrf_ok(request.session, sent):
        raise HTTPException(
            403, "This form has expired or did not come from this site. Please go back, reload and try again."
        )
    return form


def field(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default


# ---------------------------------------------------------------------------- middleware


class SecurityHeaders:
    """Security headers on every response, and a per-request nonce for the inline scripts (CSP).

    ``Strict-Transport-Security`` goes on every response served over https (the request's
    scheme, which uvicorn takes from a trusted proxy with ``--proxy-headers``), and on all of
    them when the deployment says it is served over https (``https`` public URL, or
    ``cookie_secure = "always"``): browsers then never try plain http for a year.
    """

    def __init__(self, app: ASGIApp, https: bool = False):
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        is_api = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if not is_api:
                    csp = (
                        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
                        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
                    )
                    extra.append((b"content-security-policy", csp.encode()))
                if self.https or scope.get("scheme") == "https":
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                if b"cache-control" not in names and not scope["path"].startswith("/static/"):
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = headers + [h for h in extra if h[0] not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


#: The largest request body the portal reads (bytes): far more than any of its forms needs.
MAX_BODY = 1_000_000


class BodyTooLarge(HTTPException):
    """A request body over :data:`MAX_BODY`: answered by :func:`http_error` like any refusal, as a page or JSON."""

    def __init__(self, limit: int):
        super().__init__(
            413,
            f"What you sent is more than we can take in one go (at most {limit // 1_000_000 or 1} MB). "
            "Please shorten it and send it again; for a long log or a large file, describe it in a few words "
            "and we will ask for it.",
        )


class BodyLimit:
    """Refuse a request body over ``limit`` bytes when a page reads it, without reading the rest.

    Inside the session middleware, so the refusal is the portal's own page (or JSON under
    /api/) from :func:`http_error`, never a bare plain-text answer. A declared
    Content-Length over the limit is refused at the first read; a body that grows past
    it, as soon as it does.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), b"")
        too_big = declared.isdigit() and int(declared) > self.limit
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            if too_big:
                raise BodyTooLarge(self.limit)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited, send)


_DEMAND_PATH = re.compile(r"^(?:/api/v1|/desk)?/demands/(\d+)(?:/|$)")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestLogContext:
    """Every line logged while a request is served names it: a request id, and the demand's id on a demand's routes.

    The request id is the proxy's ``X-Request-ID`` when it sends a sane one, a new one
    otherwise, and is sent back in the response's ``X-Request-ID``. The context follows
    the desk calls into the threadpool, and covers uvicorn's access-log line.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", ()) if k == b"x-request-id"), b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else secrets.token_hex(8)
        found = _DEMAND_PATH.match(scope["path"])
        fields: dict[str, Any] = {"request_id": request_id}
        if found:
            fields["demand_id"] = int(found.group(1))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        with log_context(**fields):
            await self.app(scope, receive, send_with_id)


# ---------------------------------------------------------------------------- errors


def error_status(exc: BaseException) -> int:
    """The HTTP status of an error a desk call raised: the one place the portal decides it.

    An :class:`~itsmcore.ItsmError` says its kind by its class, as ``http_status`` (422 invalid
    input, 409 conflict, 404, 403, 429, 503). One that declares no kind (a tampered signed
    link) is still the desk refusing on purpose, with a message for the caller: 400, not the
    500 of a fault. A bare ``ValueError`` is the desk refusing a name it does not know (a
    state, a stage): 422. Anything else is a fault: 500.
    """
    if isinstance(exc, TemporaryFailure):
        return 503  # something behind the desk (the directory) did not answer: try again, nothing was wrong
    if isinstance(exc, ItsmError):
        return 400 if exc.http_status == ItsmError.http_status else exc.http_status
    if isinstance(exc, ValueError):
        return 422
    return 500


def error_answer(exc: Exception) -> JSONResponse:
    """The JSON answer to a refused call (the API, ``.json`` routes): the one place its body is shaped.

    ``error`` is the message, written for the person who must act. Invalid input that names
    its fields adds ``errors`` (field -> message); a Conflict adds ``state`` (where the thing
    is now) and ``allowed`` (what may be asked of it from there), so a client can recover
    without parsing the message; a refused service adds ``next_step``; being told to wait
    adds ``Retry-After``.
    """
    body: dict[str, Any] = {"error": str(exc)}
    headers: dict[str, str] = {}
    if isinstance(exc, TemporaryFailure):
        log.warning("answered 503, unavailable: %s", exc)
        body["error"] = UNAVAILABLE
        headers["Retry-After"] = str(math.ceil(exc.retry_after or SIGN_IN_RETRY_AFTER))
    errors = getattr(exc, "errors", None) if isinstance(exc, InvalidInput) else None
    if errors:
        body["errors"] = dict(errors)
    if isinstance(exc, Conflict):
        body["state"] = None if exc.state is None else str(exc.state)
        body["allowed"] = [str(a) for a in exc.allowed]
    if isinstance(exc, IneligibleCustomer):
        body["error"], body["next_step"] = exc.reason, exc.next_step
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(math.ceil(exc.retry_after))
    return JSONResponse(body, status_code=error_status(exc), headers=headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.endswith(".json")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        from .api.problems import problem_response

        return problem_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))
    if _wants_json(request):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    from .views import render

    titles = {
        403: N_("Not allowed"),
        404: N_("Not found"),
        405: N_("Not allowed"),
        413: N_("That was too much to send"),
        429: N_("Too many attempts"),
    }
    detail = (
        exc.detail
        if exc.status_code != 404
        else N_("We could not find that page. It may have moved, or it is not yours.")
    )
    context: dict[str, Any] = {"title": titles.get(exc.status_code, N_("Something went wrong")), "message": detail}
    if exc.status_code == 413:  # the server kept nothing: back to the form, which refills what this tab kept
        context["back"] = _page_before(request)
        context["too_much"] = True
    return await render(request, "error.html", context, status_code=exc.status_code, headers=exc.headers)


def _page_before(request: Request) -> str | None:
    """The path of this site's page the request came from (its Referer), if it names one; else ``None``."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return None
    path = referer.path
    if not path.startswith("/") or path.startswith("//"):
        return None
    return path + (f"?{referer.query}" if referer.query else "")


async def redirect_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Redirect)
    return RedirectResponse(exc.url, status_code=303)


async def not_signed_in(request: Request, exc: Exception) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": "sign in first"}, status_code=401)
    from urllib.parse import quote

    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)


async def itsm_error(request: Request, exc: Exception) -> Response:
    """A desk error no page answered itself: a friendly page (or JSON), never a traceback."""
    if _wants_json(request):
        return error_answer(exc)
    from .views import render

    if isinstance(exc, TemporaryFailure):  # server names and socket errors belong in the log, not on a page
        log.warning("%s: unavailable: %s", request.url.path, exc)
        return await render(
            request,
            "error.html",
            {"title": "Unavailable for now", "message": UNAVAILABLE},
            status_code=503,
            headers={"Retry-After": str(math.ceil(exc.retry_after or SIGN_IN_RETRY_AFTER))},
        )
    return await render(
        request,
        "error.html",
        {"title": "That did not work", "message": str(exc)},
        status_code=error_status(exc),
    )


# ---------------------------------------------------------------------------- the app


async def healthz(request: Request) -> Response:
    """For load balancers: 200 when the database answers, 503 otherwise."""
    try:
        await call(portal_of(request).desk.ping)
    except Exception as e:  # the database or its driver: either way we cannot serve
        return JSONResponse({"status": "unavailable", "error": type(e).__name__}, status_code=503)
    return JSONResponse({"status": "ok"})


class ChannelApps:
    """``/channels/NAME/...``: the web app of channel ``NAME``, for channels that take messages in over HTTP.

    A channel offers one with ``web_app(desk)`` (see :class:`itsmcore.Channel`): an SMS or chat
    provider's webhook is then served by ``itsm serve`` on the deployment's own address. The
    channels are built on the first request here, not when the portal starts.
    """

    def __init__(self, desk: Desk):
        self.desk = desk
        self.router: Router | None = None

    def _build(self) -> Router:
        mounts: list[BaseRoute] = []
        for name, channel in self.desk.channels().items():
            make = getattr(channel, "web_app", None)
            if callable(make):
                mounts.append(Mount(f"/{name}", app=make(self.desk)))
        return Router(routes=mounts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.router is None:
            self.router = await run_in_threadpool(self._build)
        await self.router(scope, receive, send)


def create_app(
    config: str | os.PathLike[str] | None = None,
    *,
    desk: Desk | None = None,
    settings: PortalSettings | None = None,
) -> Starlette:
    """The portal for the deployment at ``config`` (or an already open ``desk``)."""
    owns = desk is None
    if desk is None:
        from itsmcore import Desk as _Desk

        desk = _Desk.open(config)
    portal = Portal(desk, settings or portal_settings(desk), owns_desk=owns)

    from . import (
        api,
        approval_links,
        change_pages,
        desk_people,
        desk_profile,
        desk_views,
        knowledge_pages,
        outcome_pages,
        preferences,
        problem_pages,
        signin_pages,
        team_views,
        views,
    )

    routes = [
        Route("/healthz", healthz),
        Mount("/api/v1", routes=api.routes()),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        *knowledge_pages.routes(),
        *change_pages.routes(),
        *problem_pages.routes(),
        *signin_pages.routes(),
        *views.routes(),
        *outcome_pages.routes(),
        *desk_views.routes(),
        *team_views.routes(),
        *desk_people.routes(),
        *desk_profile.routes(),
        *approval_links.routes(),
        *preferences.routes(),
        Mount("/channels", app=ChannelApps(desk)),
    ]
    middleware = [
        Middleware(RequestLogContext),
        Middleware(SecurityHeaders, https=portal.secure_cookies),
        Middleware(
            SessionMiddleware,
            secret_key=desk.secret().decode(),
            session_cookie="itsm_session",
            max_age=int(portal.settings.session_hours * 3600),
            same_site="lax",
            https_only=portal.secure_cookies,
        ),
        Middleware(BodyLimit, limit=MAX_BODY),  # inside the session: the refusal is a page like any other
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: http_error,
        Redirect: redirect_error,
        NotSignedIn: not_signed_in,
        ItsmError: itsm_error,
    }

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # what start-up built (the desk, its config, catalogs and templates) lives as long as the
        # process: out of the collector's sight, a full collection no longer walks it, which had
        # held one request in a hundred or so for some 80 ms (bench/team_queue.py)
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # an app stopped in a process that goes on (a test) leaves nothing frozen
            if portal.owns_desk:
                portal.desk.close()

    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan)
    app.state.portal = portal
    return app


def from_environment() -> Starlette:
    """The app of one web worker process: the deployment at ``$ITSM_CONFIG``, logging set up in this process.

    The factory ``itsm serve --workers N`` gives uvicorn; usable on its own too
    (``uvicorn --factory itsm_portal.app:from_environment --workers 4``). Logs as the
    ``itsm`` command would, at ``$ITSM_LOG_LEVEL`` (INFO) in ``$ITSM_LOG_FORMAT`` (text).
    """
    from itsmcore import configure_logging

    configure_logging(os.environ.get("ITSM_LOG_LEVEL") or "INFO", os.environ.get("ITSM_LOG_FORMAT") or "text")
    return create_app(os.environ.get("ITSM_CONFIG") or None)


__all__ = [
    "PlainTextResponse",
    "Portal",
    "call",
    "create_app",
    "error_answer",
    "error_status",
    "from_environment",
    "portal_settings",
]
