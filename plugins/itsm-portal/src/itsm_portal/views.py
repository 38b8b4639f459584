"""HTML pages: the customer's portal (the service desk's own pages are in :mod:`itsm_portal.desk_views`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import attrs
import jinja2
from itsmcore import (
    N_,
    Ask,
    Conflict,
    Customer,
    CustomerStatus,
    Demand,
    DemandKind,
    DemandState,
    Forbidden,
    IneligibleCustomer,
    InvalidInput,
    Link,
    NotFound,
    Service,
    TemporaryFailure,
    Translator,
    UnknownService,
    stage_label,
    translator,
)
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from .app import (
    call,
    checked_form,
    current_customer,
    error_status,
    field,
    need_customer,
    portal_of,
)
from .security import csrf_token

if TYPE_CHECKING:
    from itsmcore import Desk

    from .app import Portal


# ---------------------------------------------------------------------------- words for customers

KIND_WORDS = {DemandKind.VALUE: "Request", DemandKind.FAILURE: "Problem", DemandKind.INFORMATION: "Question"}
#: States in which the customer is asked "is it sorted?"
CONFIRMABLE = {DemandState.FULFILLED, DemandState.RESOLVED, DemandState.ANSWERED}
#: States in which a value demand's customer has the outcome, so may review the service.
REVIEWABLE = {DemandState.FULFILLED, DemandState.CLOSED}
#: Where a message went, for customers: never a channel component's name ("log").
CHANNEL_WORDS = {
    "log": "in your portal inbox",
    "portal": "in your portal inbox",
    "email": "by email",
    "sms": "by text message",
}
#: Where "no, it is not sorted" sends a demand back to.
CONTACT_CHANNELS = {"phone": "Phone call", "walk-up": "Walk-up (in person)", "chat": "Chat", "email": "Email"}

_URL = re.compile(r"https?://[^\s<>\"']+")


#: A message's link line as the desk writes it: ``Title: https://...``.
_TITLED_LINK = re.compile(r"^(?P<title>[^\n:]{1,120}): (?P<url>https?://\S+)$")


#: Channels whose messages land in the portal inbox (the ``log`` channel; the portal's own).
INBOX_CHANNELS = frozenset({"log", "portal"})


def linkify(text: str | None) -> Markup:
    """Escape ``text`` and turn http(s) addresses into short links; everything else stays text.

    Customers never read an address (a signed link's token least of all): a ``Title: URL``
    line becomes a link named by its title, and an address inside a sentence a link named
    by what it opens (its host, or "this page" for the portal's own pages).
    """
    lines = []
    for line in (text or "").split("\n"):
        titled = _TITLED_LINK.match(line.strip())
        if titled:
            url = titled.group("url").rstrip(".,;)")
            lines.append(f'<a class="link-button" href="{escape(_local(url))}">{escape(titled.group("title"))}</a>')
            continue
        out: list[str] = []
        pos = 0
        for m in _URL.finditer(line):
            url = m.group(0).rstrip(".,;:)")
            out.append(str(escape(line[pos : m.start()])))
            out.append(f'<a href="{escape(_local(url))}">{escape(_link_words(url))}</a>')
            pos = m.start() + len(url)
        out.append(str(escape(line[pos:])))
        lines.append("".join(out))
    return Markup("\n".join(lines))


def _link_words(url: str) -> str:
    """What a bare address is called on a page: the portal's own pages by what they are, others by host."""
    parts = urlsplit(url)
    if _local(url) != url:
        return "this page" if not parts.path.startswith("/demands/") else f"request #{parts.path.split('/')[2]}"
    return parts.netloc or url


def _local(url: str) -> str:
    """Links to this portal's own pages (confirm, survey, a demand, an article) stay on the host in use."""
    parts = urlsplit(url)
    if parts.path.startswith(("/confirm/", "/survey/", "/demands/", "/knowledge/", "/approvals/")):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return url


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def customer_names(desk: Desk, ids: Iterable[str | None]) -> dict[str, str]:
    """The names of the people a desk page shows, by id: people are shown by name, never by login id.

    Only those on the page are looked up, so a page costs the same with 100,000 customers.
    """
    return desk.customer_names(i for i in ids if i)


def statuses(desk: Desk, demands: Sequence[Demand]) -> dict[int, CustomerStatus]:
    """Each demand's status in its customer's words, by id: the one status model, never the portal's own."""
    return {d.id: desk.customer_status(d) for d in demands}


def make_templates(portal: Portal, tr: Translator | None = None) -> Jinja2Templates:
    """The portal's templates in ``tr``'s language (English by default): see :mod:`itsm_portal.languages`."""
    from pathlib import Path

    from . import languages

    tr = tr or translator()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,  # every value escaped, whatever the template's name
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda msgid, **values: tr(msgid, **values),
        lambda one, many, n, **values: tr.ngettext(one, many, n, **values),
        newstyle=False,
    )
    env.globals["lang"] = tr.locale.replace("_", "-")
    env.filters["linkify"] = linkify
    env.filters["when"] = when if tr.english else (lambda value: languages.when(tr, value))
    env.filters["stage_label"] = lambda stage: stage_label(stage, tr)
    env.filters["channel_words"] = lambda c: CHANNEL_WORDS.get(str(c), "")
    env.filters["kind_words"] = lambda k: KIND_WORDS.get(DemandKind(k), str(k))
    env.filters["words"] = lambda s: str(s).replace("_", " ")
    env.globals["settings"] = portal.settings
    env.globals["deployment"] = portal.desk.name
    return Jinja2Templates(env=env)


async def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    portal = portal_of(request)
    try:
        customer = await current_customer(request)
    except TemporaryFailure:  # the directory is down: the page (the 503 saying so) still renders, nameless
        customer = None
    from .languages import known_translator, page_translator, templates_for

    token = (context or {}).get("token")  # a signed link's page speaks its customer's language
    tr = known_translator(portal, customer) or await call(
        page_translator,
        portal,
        customer,
        token if isinstance(token, str) else None,
        request.headers.get("accept-language"),
    )
    templates = templates_for(portal, tr)
    flash = request.session.pop("flash", None)
    flash = tr(flash) if flash else flash  # kept in English (N_), told in the reader's language
    ctx = {
        "request": request,
        "me": customer,
        "is_agent": portal.is_agent(customer),
        "csrf": csrf_token(request.session),
        "nonce": getattr(request.state, "csp_nonce", ""),
        "flash": flash,
        "title": "",
        **(context or {}),
    }
    ctx["title"] = tr(ctx["title"]) if ctx["title"] else ""  # a page title the catalogs know, in the reader's words
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)


def say(request: Request, text: str) -> None:
    """A one-time message on the next page."""
    request.session["flash"] = text


# ---------------------------------------------------------------------------- refusals

#: The refusals a page answers itself (see :func:`refusal`); any other desk error goes to
#: the app's error page (:func:`~itsm_portal.app.itsm_error`).
REFUSED = (InvalidInput, Conflict, Forbidden)


@attrs.frozen
class Refusal:
    """How a page shows a desk call the desk refused: field errors on the form, or a notice."""

    status: int
    errors: Mapping[str, str] = attrs.field(factory=dict)
    notice: str = ""

    def text(self) -> str:
        """The refusal as one line, for a page that has no form to put field errors on."""
        return self.notice or " ".join(self.errors.values())


def refusal(exc: InvalidInput | Conflict | Forbidden, field: str) -> Refusal:
    """The one place a page decides how to show a refusal, by the error's kind.

    Invalid input is the form's to correct: its field errors (or its message against
    ``field`` when it names none). A Conflict or Forbidden is not (approved already,
    resolved already, answered already): a notice above the page, which shows the thing as
    it is now, never a field error.
    """
    status = error_status(exc)
    if isinstance(exc, InvalidInput):
        errors = getattr(exc, "errors", None) or {field: str(exc)}
        return Refusal(status, dict(errors))
    return Refusal(status, notice=str(exc))


def _notice(refused: Refusal) -> dict[str, str]:
    """Context that shows ``refused``'s notice in the page's notice slot (none: the session's stays)."""
    return {"flash": refused.notice} if refused.notice else {}


_ID = re.compile(r"[0-9]{1,18}")  # fits the store's 64-bit ids: a longer one names nothing


def _int(value: str) -> int:
    """A record id from the path; anything that cannot be one (too long, not digits) is a 404."""
    if not _ID.fullmatch(value):
        raise HTTPException(404)
    return int(value)


# ---------------------------------------------------------------------------- sign in / out


async def _my_announcements(portal: Portal, me: Customer) -> list[dict[str, Any]]:
    """Open announcements about services the customer uses (subscribed, from the CMDB) or said affect them."""
    desk = portal.desk
    announcements = await call(desk.announcements, open_only=True)
    if not announcements:
        return []
    mine = await call(desk.list_demands, customer=me.id, kind=DemandKind.FAILURE, limit=200)
    linked = {d.announcement_id: d for d in mine if d.announcement_id is not None}
    out = []
    affecting = {a.id for a in await call(desk.announcements_for, me.id)}
    for ann in announcements:
        if ann.id not in affecting and ann.id not in linked:
            continue
        try:
            service = desk.get_service(ann.service_key)
        except UnknownService:
            continue
        out.append({"a": ann, "service": service, "demand": linked.get(ann.id)})
    return out


async def home(request: Request) -> Response:
    me = await need_customer(request)
    desk = portal_of(request).desk
    demands = await call(desk.list_demands, customer=me.id, open_only=True, limit=50)
    messages = await call(desk.messages, customer=me.id, limit=8)
    return await render(
        request,
        "home.html",
        {
            "title": "Home",
            "announcements": await _my_announcements(portal_of(request), me),
            "demands": demands,
            "status": await call(statuses, desk, demands),
            "messages": messages,
            "services": {s.key: s for s in desk.services},
        },
    )


async def affects_me(request: Request) -> Response:
    me = await need_customer(request)
    await checked_form(request)
    aid = _int(request.path_params["aid"])
    try:
        did = await call(portal_of(request).desk.affects_me, aid, me.id, "portal")
    except NotFound:
        raise HTTPException(404) from None
    except REFUSED as e:  # the announcement was resolved meanwhile, say
        say(request, refusal(e, "announcement").text())
        return RedirectResponse("/", status_code=303)
    say(request, N_("Thanks for telling us. We have linked you to this problem and will tell you when it is fixed."))
    return RedirectResponse(f"/demands/{did}", status_code=303)


async def text_me_the_link(request: Request) -> Response:
    """ "Text me the link": an announcement's workaround links, sent to the customer's phone now.

    Queued through the desk like any message (durable, retried); by SMS when the deployment
    has an ``sms`` channel and the customer a number it can reach, else by their preferences,
    and the notice says which.
    """
    me = await need_customer(request)
    await checked_form(request)
    desk = portal_of(request).desk
    aid = _int(request.path_params["aid"])
    try:
        ann = await call(desk.announcement, aid)
    except NotFound:
        raise HTTPException(404) from None
    if not ann.workaround_links:
        raise HTTPException(404)
    sms = desk.channels().get("sms")
    number = sms.address_for(me) if sms is not None else None
    text = f"Meanwhile: {ann.workaround}" if ann.workaround else "The workaround, as you asked."
    did = await call(desk.affects_me, aid, me.id, "portal") if ann.state == "open" else None
    await call(
        desk.notify,
        me.id,
        ann.workaround_links[0].title,
        text,
        demand_id=did,
        links=ann.workaround_links,
        channel="sms" if number else None,
        purpose="workaround",
    )
    say(request, f"We are texting the link to {number}." if number else N_("We have sent you the link as a message."))
    return RedirectResponse("/", status_code=303)


# ---------------------------------------------------------------------------- catalog


def _entry(e: Any) -> dict[str, Any]:
    s: Service = e.service
    return {
        "key": s.key,
        "name": s.name,
        "description": s.description,
        "category": s.category,
        "kind": str(s.kind),
        "expected": s.expected,
        "eligible": e.eligible,
        "reason": e.reason,
        "next_step": e.next_step,
        "url": f"/services/{quote(s.key)}",
        "held": _held(e.held),
    }


def _held(held: Any) -> dict[str, Any] | None:
    """ "You already have this", with the earlier request to look at (or the device the CMDB knows)."""
    if held is None:
        return None
    if held.demand_id is not None:
        return {"text": f"From your request #{held.demand_id}.", "url": f"/demands/{held.demand_id}"}
    return {"text": f"Our records show {held.item} is yours." if held.item else "", "url": None}


async def _search(request: Request, me: Customer, q: str) -> list[dict[str, Any]]:
    portal = portal_of(request)
    q = " ".join(q.split())[:200]
    if not q:
        return []
    key = (q.casefold(), me.id)
    cached = portal.search_cache.get(key)
    if cached is not None:
        return cached
    hits = await call(portal.desk.search, q, customer=me, limit=portal.settings.search_limit)
    results = [_entry(h) for h in hits]
    rated = await call(portal.desk.review_summaries, [r["key"] for r in results])
    for r in results:  # what colleagues say, beside each result
        r["rating"], r["reviews"] = rated[r["key"]].average, rated[r["key"]].count
    portal.search_cache.put(key, results)
    return results


#: Knowledge articles shown beside the services a search finds.
ARTICLE_RESULTS = 5


async def _articles(request: Request, me: Customer, q: str) -> list[dict[str, Any]]:
    """Published articles for the search, in the customer's audience only (see ``Desk.knowledge``)."""
    q = " ".join(q.split())[:200]
    if not q:
        return []
    knowledge = portal_of(request).desk.knowledge
    hits = await call(knowledge.search, q, customer=me, limit=ARTICLE_RESULTS)
    return [
        {
            "key": h.article.key,
            "title": h.article.title,
            "summary": knowledge.summary(h.article, 200),
            "url": f"/knowledge/{quote(h.article.key)}",
        }
        for h in hits
    ]


async def search_page(request: Request) -> Response:
    me = await need_customer(request)
    q = request.query_params.get("q", "").strip()
    results = await _search(request, me, q)
    articles = await _articles(request, me, q)
    if q:  # what was looked for and how much it found: searches finding nothing are articles to write
        await call(
            portal_of(request).desk.knowledge.record_search, q, me.id, services=len(results), articles=len(articles)
        )
    return await render(
        request, "search.html", {"title": N_("Find a service"), "q": q, "results": results, "articles": articles}
    )


async def search_json(request: Request) -> Response:
    me = await need_customer(request)
    q = request.query_params.get("q", "").strip()
    return JSONResponse(
        {"query": q, "results": await _search(request, me, q), "articles": await _articles(request, me, q)}
    )


def _prefill(desk: Desk, service: Service, me: Customer) -> dict[str, str]:
    """What the directory and the CMDB already know for the service's asks."""
    return desk.prefill(service, me)


async def _service_context(request: Request, me: Customer, key: str) -> dict[str, Any]:
    desk = portal_of(request).desk
    try:
        service = desk.get_service(key)
    except UnknownService:
        raise HTTPException(404) from None
    decision = await call(desk.eligibility, me, service)
    devices = [ci for ci in await call(desk.configuration_items, me.id) if str(ci.kind) == "device"]
    return {
        "title": service.name,
        "service": service,
        "decision": decision,
        "held": _held(await call(desk.already_has, me, service)),
        "devices": devices,
        "values": await call(_prefill, desk, service, me),
        "errors": {},
        "discovery": request.query_params.get("from", "")[:200],
        "reviews": await call(desk.review_summary, service.key),
    }


async def service_page(request: Request) -> Response:
    me = await need_customer(request)
    ctx = await _service_context(request, me, request.path_params["key"])
    return await render(request, "service.html", ctx)


async def service_submit(request: Request) -> Response:
    me = await need_customer(request)
    form = await checked_form(request)
    ctx = await _service_context(request, me, request.path_params["key"])
    service: Service = ctx["service"]
    if service.kind != DemandKind.VALUE:
        return RedirectResponse(f"/report?service={quote(service.key)}", status_code=303)
    answers = {ask.name: field(form, ask.name) for ask in service.asks}
    discovery = field(form, "discovery")[:200]
    desk = portal_of(request).desk
    try:
        receipt = await call(
            desk.submit,
            DemandKind.VALUE,
            me,
            service.name,
            service=service.key,
            answers=answers,
            channel="portal",
            discovery=f"searched '{discovery}' in the portal" if discovery else None,
        )
    except IneligibleCustomer as e:
        ctx.update(values=answers, refused=f"{e.reason} {e.next_step}".strip())
        return await render(request, "service.html", ctx, status_code=403)
    except REFUSED as e:
        refused = refusal(e, "service")
        ctx.update(values=answers, errors=refused.errors, discovery=discovery, **_notice(refused))
        return await render(request, "service.html", ctx, status_code=refused.status)
    _remember_receipt(request, receipt)
    return RedirectResponse(f"/demands/{receipt.demand.id}/submitted", status_code=303)


def _remember_receipt(request: Request, receipt: Any) -> None:
    request.session["receipt"] = {
        "id": receipt.demand.id,
        "text": receipt.acknowledgement,
        "links": [[link.title, link.url] for link in receipt.links][:10],
    }


# ---------------------------------------------------------------------------- report a problem / ask a question


def suggestions(desk: Desk, me: Customer, text: str) -> list[dict[str, Any]]:
    """Answers worth reading before sending: the self-service answer the desk would give, then knowledge."""
    words = {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}
    if not words:
        return []
    out: list[dict[str, Any]] = []
    try:
        answer = desk.suggest_answer(me, text)
    except Exception:  # a preview must never break the form
        answer = None
    if answer is not None:
        out.append(
            {"title": "From what we know", "text": answer.text, "links": [[x.title, x.url] for x in answer.links]}
        )
    seen = {o["text"] for o in out}
    for hit in desk.knowledge.search(text, customer=me, limit=3):
        summary = desk.knowledge.summary(hit.article, 300)
        if not any(summary in s or hit.article.title in s for s in seen):
            out.append(
                {
                    "title": hit.article.title,
                    "text": summary,
                    "links": [["Read the article", f"/knowledge/{quote(hit.article.key)}"]],
                }
            )
            seen.add(summary)
    return out


async def report_page(request: Request) -> Response:
    await need_customer(request)
    kind = request.query_params.get("kind", "failure")
    return await render(
        request,
        "report.html",
        {
            "title": N_("Ask a question") if kind == "information" else N_("Report a problem"),
            "kind": kind if kind in ("failure", "information") else "failure",
            "service_key": request.query_params.get("service", ""),
            "values": {},
            "errors": {},
            "suggestions": None,
            "services": portal_of(request).desk.services,
        },
    )


async def report_submit(request: Request) -> Response:
    me = await need_customer(request)
    form = await checked_form(request)
    desk = portal_of(request).desk
    kind = field(form, "kind") if field(form, "kind") in ("failure", "information") else "failure"
    values = {"summary": field(form, "summary")[:300], "details": field(form, "details")[:4000]}
    service_key = field(form, "service")
    ctx: dict[str, Any] = {
        "title": N_("Ask a question") if kind == "information" else N_("Report a problem"),
        "kind": kind,
        "service_key": service_key,
        "values": values,
        "errors": {},
        "suggestions": None,
        "services": desk.services,
    }
    if service_key and service_key not in {s.key for s in desk.services}:
        ctx["errors"] = {"service": "Please choose a service from the list, or 'I don't know'."}
        return await render(request, "report.html", ctx, status_code=422)
    if not values["summary"]:
        ctx["errors"] = {"summary": "Please say in a few words what is wrong or what you want to know."}
        return await render(request, "report.html", ctx, status_code=422)
    if field(form, "action") == "preview":
        ctx["suggestions"] = await call(suggestions, desk, me, f"{values['summary']} {values['details']}")
        return await render(request, "report.html", ctx)
    try:
        receipt = await call(
            desk.submit,
            kind,
            me,
            values["summary"],
            service=service_key or None,
            details=values["details"],
            channel="portal",
        )
    except REFUSED as e:
        refused = refusal(e, "summary")
        ctx.update(errors=refused.errors, **_notice(refused))
        return await render(request, "report.html", ctx, status_code=refused.status)
    _remember_receipt(request, receipt)
    return RedirectResponse(f"/demands/{receipt.demand.id}/submitted", status_code=303)


async def answers_json(request: Request) -> Response:
    me = await need_customer(request)
    q = request.query_params.get("q", "")[:500]
    return JSONResponse({"query": q, "answers": await call(suggestions, portal_of(request).desk, me, q)})


# ---------------------------------------------------------------------------- my demands


async def _my_demand(request: Request, me: Customer) -> Demand:
    """The signed-in customer's demand from the path; anyone else's is 'not found' (no hint it exists)."""
    did = _int(request.path_params["did"])
    try:
        demand = await call(portal_of(request).desk.get, did)
    except NotFound:
        raise HTTPException(404) from None
    if demand.customer_id != me.id:
        raise HTTPException(404)
    return demand


async def demands_page(request: Request) -> Response:
    me = await need_customer(request)
    desk = portal_of(request).desk
    demands = await call(desk.list_demands, customer=me.id, limit=200)
    status = await call(statuses, desk, demands)
    return await render(
        request,
        "demands.html",
        {
            "title": "My requests and reports",
            "status": status,
            # by what the customer is told: a request that is done (even before they confirm it) is not "open"
            "open": [d for d in demands if not status[d.id].finished],
            "done": [d for d in demands if status[d.id].finished],
        },
    )


async def demand_page(
    request: Request,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    me = await need_customer(request)
    demand = await _my_demand(request, me)
    desk = portal_of(request).desk
    # a message left in the portal inbox repeats the event it tells of, and is listed under
    # the demand's messages already: the timeline shows each thing once
    journey = [
        e
        for e in await call(desk.journey, demand.id)
        if e.customer_sees and not (e.kind == "notification" and e.channel in INBOX_CHANNELS)
    ]
    service = desk.get_service(demand.service_key) if demand.service_key in {s.key for s in desk.services} else None
    # the latest 20, oldest first: the same order as the timeline above them
    messages = list(reversed(await call(desk.messages, customer=me.id, demand_id=demand.id, limit=20)))
    return await render(
        request,
        "demand.html",
        {
            "title": f"#{demand.id}: {demand.summary}",
            "d": demand,
            "status": await call(desk.customer_status, demand),
            "journey": journey,
            "service": service,
            "messages": messages,
            "confirmable": demand.state in CONFIRMABLE,
            "review": await call(desk.review_of, demand.id),
            "reviewable": demand.kind == DemandKind.VALUE and demand.state in REVIEWABLE and service is not None,
            "review_max": desk.config.survey_rules.review_max_chars,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status,
    )


async def demand_review(request: Request) -> Response:
    """The customer's rating and words for colleagues, from their fulfilled request's page."""
    me = await need_customer(request)
    form = await checked_form(request)
    demand = await _my_demand(request, me)
    values = {"rating": field(form, "rating"), "text": field(form, "text"), "anonymous": field(form, "anonymous")}
    try:
        rating = int(values["rating"]) if values["rating"].isdigit() else 0
        await call(
            portal_of(request).desk.review,
            demand.id,
            me.id,
            rating,
            values["text"],
            anonymous=bool(values["anonymous"]),
            channel="portal",
        )
    except REFUSED as e:
        refused = refusal(e, "text")
        if refused.errors:  # the form's to correct, as typed
            return await demand_page(request, refused.errors, values, refused.status)
        say(request, refused.notice)  # reviewed already, or not yours to review yet
        return RedirectResponse(f"/demands/{demand.id}", status_code=303)
    say(request, N_("Thank you for your review: colleagues can now read it."))
    return RedirectResponse(f"/demands/{demand.id}#review", status_code=303)


async def submitted_page(request: Request) -> Response:
    me = await need_customer(request)
    demand = await _my_demand(request, me)
    desk = portal_of(request).desk
    receipt = request.session.get("receipt")
    if not isinstance(receipt, dict) or receipt.get("id") != demand.id:
        receipt = None
    service = desk.get_service(demand.service_key) if demand.service_key in {s.key for s in desk.services} else None
    links = [Link(title=t, url=u) for t, u in (receipt or {}).get("links", [])]
    if receipt is None and service is not None:
        links = list(service.quick_start)
    answer = None
    if demand.state == DemandState.ANSWERED:
        events = await call(desk.journey, demand.id)
        answer = next((e.customer_sees for e in reversed(events) if e.kind == "state" and e.customer_sees), None)
    return await render(
        request,
        "submitted.html",
        {
            "title": "Thank you",
            "d": demand,
            # worded now, from the demand as it is now: never the stale promise of the moment it was sent
            "ack": await call(desk.acknowledgement, demand),
            "links": links,
            "service": service,
            "answer": answer,
        },
    )


async def demand_comment(request: Request) -> Response:
    me = await need_customer(request)
    form = await checked_form(request)
    demand = await _my_demand(request, me)
    text = field(form, "text")[:4000]
    if not text:
        say(request, N_("Please write something before sending."))
    else:
        await call(portal_of(request).desk.comment, demand.id, text, actor="customer", channel="portal")
        say(request, N_("Thanks, we have added your comment."))
    return RedirectResponse(f"/demands/{demand.id}#journey", status_code=303)


_SURVEY = re.compile(r"/survey/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")


def routes() -> Sequence[Route]:
    return [
        Route("/", home),
        Route("/search", search_page),
        Route("/search.json", search_json),
        Route("/answers.json", answers_json),
        Route("/services/{key}", service_page, methods=["GET"]),
        Route("/services/{key}", service_submit, methods=["POST"]),
        Route("/report", report_page, methods=["GET"]),
        Route("/report", report_submit, methods=["POST"]),
        Route("/announcements/{aid}/affects-me", affects_me, methods=["POST"]),
        Route("/announcements/{aid}/text-me", text_me_the_link, methods=["POST"]),
        Route("/demands", demands_page),
        Route("/demands/{did}", demand_page),
        Route("/demands/{did}/submitted", submitted_page),
        Route("/demands/{did}/comment", demand_comment, methods=["POST"]),
        Route("/demands/{did}/review", demand_review, methods=["POST"]),
    ]


__all__ = ["Ask", "linkify", "make_templates", "render", "routes"]
