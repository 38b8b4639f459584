"""Knowledge pages: an article as customers read it ("did this help?"), and the desk's pages to write and publish.

A customer sees only published articles in their audience; anything else is "not found",
as if it did not exist. Agents write articles on ``/desk/knowledge``: each save is a new
version; a save started from a version someone else has replaced is refused, the agent's
text kept in the form and what changed meanwhile shown beside it.
"""

from __future__ import annotations

from urllib.parse import quote

from itsmcore import Conflict, InvalidInput, NotFound
from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .app import call, checked_form, field, need_agent, need_customer, portal_of
from .views import render, say

#: Fields of the desk's article form, in the order shown.
FIELDS = ("key", "title", "services", "keywords", "audience", "owner", "body", "note")


def _items(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _key(request: Request) -> str:
    key = request.path_params["key"]
    if len(key) > 128:
        raise HTTPException(404)
    return key


# ---------------------------------------------------------------------------- customers


async def article_page(request: Request) -> Response:
    """A published article, rendered and sanitised, with "did this help?"; agents may preview any state."""
    me = await need_customer(request)
    portal = portal_of(request)
    desk = portal.desk
    key = _key(request)
    agent = portal.is_agent(me)
    try:
        article = await call(desk.knowledge.get, key, customer=None if agent else me)
    except NotFound:
        raise HTTPException(404) from None
    if not agent:
        await call(desk.knowledge.record_read, key, me.id)
    return await render(
        request,
        "knowledge.html",
        {
            "title": article.title,
            "article": article,
            "body_html": Markup(await call(desk.knowledge.render, article)),  # sanitised by itsmcore.markdown
            "preview": agent and str(article.state) != "published",
        },
    )


async def article_helped(request: Request) -> Response:
    """ "Did this help?" answered on an article: counted for the knowledge report."""
    me = await need_customer(request)
    form = await checked_form(request)
    key = _key(request)
    helped = field(form, "helped") == "yes"
    try:
        await call(portal_of(request).desk.knowledge.feedback, key, me, helped)
    except NotFound:
        raise HTTPException(404) from None
    say(
        request,
        "Thank you: glad it helped."
        if helped
        else "Thank you for telling us. If you still need help, ask us and someone from IT will answer.",
    )
    back = field(form, "back")
    if back.startswith("/search?") or back == "/search":
        return RedirectResponse(back, status_code=303)
    return RedirectResponse(f"/knowledge/{quote(key)}", status_code=303)


# ---------------------------------------------------------------------------- the desk


async def desk_articles(
    request: Request, values: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    await need_agent(request)
    desk = portal_of(request).desk
    state = request.query_params.get("state") or None
    articles = await call(desk.knowledge.articles, state=state if state in ("draft", "published", "retired") else None)
    return await render(
        request,
        "desk/knowledge.html",
        {
            "title": "Knowledge",
            "articles": articles,
            "state": state or "",
            "values": values or {},
            "errors": errors or {},
            "services": desk.services,
        },
        status_code=status,
    )


async def desk_article_new(request: Request) -> Response:
    me = await need_agent(request)
    form = await checked_form(request)
    desk = portal_of(request).desk
    values = {k: field(form, k) for k in FIELDS}
    try:
        article = await call(
            desk.knowledge.create,
            values["key"].strip(),
            values["title"],
            values["body"],
            services=_items(values["services"]),
            keywords=_items(values["keywords"]),
            audience=_items(values["audience"]),
            owner=values["owner"].strip(),
            actor=me.id,
            note=values["note"].strip() or "written",
        )
    except InvalidInput as e:
        return await desk_articles(request, values, {_field_of(str(e)): str(e)}, 422)
    except Conflict as e:
        return await desk_articles(request, values, {"key": str(e)}, 409)
    say(request, f"Saved as a draft (version {article.version}). Publish it when it is ready.")
    return RedirectResponse(f"/desk/knowledge/{quote(article.key)}", status_code=303)


def _field_of(message: str) -> str:
    """The form field an InvalidInput message is about (the message names it first)."""
    for name, word in (("key", "key"), ("title", "title"), ("body", "body"), ("services", "service")):
        if word in message.split(":")[0] or message.startswith(f"an article needs a {word}"):
            return name
    return "keywords" if "keyword" in message else "body"


async def desk_article(
    request: Request,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    conflict: str = "",
    base: int | None = None,
) -> Response:
    await need_agent(request)
    desk = portal_of(request).desk
    key = _key(request)
    try:
        article = await call(desk.knowledge.get, key)
        history = await call(desk.knowledge.history, key)
    except NotFound:
        raise HTTPException(404) from None
    shown = values or {
        "title": article.title,
        "services": ", ".join(article.services),
        "keywords": ", ".join(article.keywords),
        "audience": ", ".join(article.audience),
        "owner": article.owner,
        "body": article.body,
        "note": "",
    }
    diff = ""
    if "from" in request.query_params:
        try:
            old = int(request.query_params["from"])
            new = int(request.query_params.get("to") or article.version)
            diff = await call(desk.knowledge.diff, key, old, new) or "The two versions say the same."
        except (ValueError, NotFound):
            diff = "No such version."
    return await render(
        request,
        "desk/knowledge_article.html",
        {
            "title": article.title,
            "article": article,
            "history": list(reversed(history)),
            "values": shown,
            "errors": errors or {},
            "base": base if base is not None else article.version,
            "conflict": conflict,
            "diff": diff,
            "preview": Markup(await call(desk.knowledge.render, article)),
            "open_demands": await call(desk.knowledge.answering, key),
        },
        status_code=status,
    )


async def desk_article_save(request: Request) -> Response:
    me = await need_agent(request)
    form = await checked_form(request)
    desk = portal_of(request).desk
    key = _key(request)
    values = {k: field(form, k) for k in FIELDS if k != "key"}
    try:
        base = int(field(form, "base"))
    except ValueError:
        raise HTTPException(400) from None
    try:
        article = await call(
            desk.knowledge.edit,
            key,
            base_version=base,
            actor=me.id,
            note=values["note"].strip() or "edited",
            title=values["title"],
            body=values["body"],
            services=_items(values["services"]),
            keywords=_items(values["keywords"]),
            audience=_items(values["audience"]),
            owner=values["owner"].strip(),
        )
    except NotFound:
        raise HTTPException(404) from None
    except InvalidInput as e:
        return await desk_article(request, values, {_field_of(str(e)): str(e)}, 422, base=base)
    except Conflict as e:
        # someone saved meanwhile: keep this text in the form, show what changed, save again from theirs
        current = getattr(e, "current", None)
        return await desk_article(request, values, {}, 409, conflict=getattr(e, "diff", "") or str(e), base=current)
    say(request, f"Saved: version {article.version} ({article.state}).")
    return RedirectResponse(f"/desk/knowledge/{quote(key)}", status_code=303)


async def desk_article_action(request: Request) -> Response:
    me = await need_agent(request)
    await checked_form(request)
    desk = portal_of(request).desk
    key = _key(request)
    action = request.path_params["action"]
    try:
        if action == "publish":
            await call(desk.knowledge.publish, key, actor=me.id)
            say(request, "Published: customers in its audience find it from now on.")
        elif action == "retire":
            done = await call(desk.knowledge.retire, key, actor=me.id)
            warn = ""
            if done.open_demands:
                ids = ", ".join(f"#{d}" for d in done.open_demands)
                warn = f" It answered open demands {ids}: their customers may come back to it."
            say(request, "Retired: no longer found or offered." + warn)
        else:
            raise HTTPException(404)
    except NotFound:
        raise HTTPException(404) from None
    except Conflict as e:
        say(request, str(e))
    return RedirectResponse(f"/desk/knowledge/{quote(key)}", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/knowledge/{key}", article_page, methods=["GET"]),
        Route("/knowledge/{key}/helped", article_helped, methods=["POST"]),
        Route("/desk/knowledge", desk_articles, methods=["GET"]),
        Route("/desk/knowledge", desk_article_new, methods=["POST"]),
        Route("/desk/knowledge/{key}", desk_article, methods=["GET"]),
        Route("/desk/knowledge/{key}", desk_article_save, methods=["POST"]),
        Route("/desk/knowledge/{key}/{action}", desk_article_action, methods=["POST"]),
    ]


__all__ = ["routes"]
