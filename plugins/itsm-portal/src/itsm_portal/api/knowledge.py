"""Knowledge: articles (list, read, write, edit from a version, publish, retire), their history and diffs, search.

An edit names the version it started from; when someone saved another since, the answer
is 409 with ``base``, ``current`` and the ``diff`` between them, and nothing changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import attrs
import msgspec
from itsmcore import ArticleState

from .routing import Call, Text, operation
from .shapes import when

if TYPE_CHECKING:
    StateName = str
else:  # the core's names, so the document lists them and a wrong one is refused naming them
    StateName = Literal[tuple(str(s) for s in ArticleState)]


@attrs.frozen(kw_only=True)
class ArticleOut:
    """An article as it stands (its latest version); ``html`` is its body rendered and sanitised."""

    key: str
    title: str
    body: str
    html: str
    services: list[str]
    keywords: list[str]
    audience: list[str]
    owner: str
    state: str
    version: int
    updated_at: str | None
    updated_by: str


@attrs.frozen(kw_only=True)
class ArticleList:
    articles: list[ArticleOut]


@attrs.frozen(kw_only=True)
class ArticleQuery:
    state: StateName | None = None
    service: Annotated[str | None, msgspec.Meta(description="only articles about this service (its key)")] = None


@attrs.frozen(kw_only=True)
class NewArticle:
    """A new draft (publish it to let customers find it); ``audience`` empty means everyone."""

    key: Text
    title: Text
    body: Text
    services: list[str] = attrs.Factory(list)
    keywords: list[str] = attrs.Factory(list)
    audience: list[str] = attrs.Factory(list)
    owner: str = ""
    note: str = "written"


@attrs.frozen(kw_only=True)
class ArticleEdit:
    """Changes to an article, started from ``base_version``; fields left out stay as they are."""

    base_version: Annotated[int, msgspec.Meta(ge=1, description="the version this edit started from")]
    title: str | None = None
    body: str | None = None
    services: list[str] | None = None
    keywords: list[str] | None = None
    audience: list[str] | None = None
    owner: str | None = None
    note: str = "edited"


@attrs.frozen(kw_only=True)
class Note:
    note: str = ""


@attrs.frozen(kw_only=True)
class Retired:
    """The retired article, and the open demands it answered (their customers may come back to it)."""

    article: ArticleOut
    open_demands: list[int]


@attrs.frozen(kw_only=True)
class VersionOut:
    version: int
    title: str
    state: str
    changed_by: str
    note: str
    at: str | None


@attrs.frozen(kw_only=True)
class History:
    key: str
    versions: list[VersionOut]


@attrs.frozen(kw_only=True)
class DiffQuery:
    old: Annotated[int, msgspec.Meta(ge=1, description="the older version")]
    new: Annotated[int, msgspec.Meta(ge=1, description="the newer version (default: the latest)")] | None = None


@attrs.frozen(kw_only=True)
class Diff:
    key: str
    diff: str


@attrs.frozen(kw_only=True)
class SearchQuery:
    q: Annotated[str, msgspec.Meta(max_length=200, description="what to look for (typos forgiven)")]
    customer: Annotated[
        str | None, msgspec.Meta(description="only articles this customer may read (their directory id)")
    ] = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 10


@attrs.frozen(kw_only=True)
class Hit:
    article: ArticleOut
    score: float
    matched: str


@attrs.frozen(kw_only=True)
class Hits:
    hits: list[Hit]


def article_out(call: Call, a: Any) -> ArticleOut:
    kb = call.desk.knowledge
    return ArticleOut(
        key=a.key,
        title=a.title,
        body=a.body,
        html=kb.render(a),
        services=list(a.services),
        keywords=list(a.keywords),
        audience=list(a.audience),
        owner=a.owner,
        state=str(a.state),
        version=a.version,
        updated_at=when(a.updated_at),
        updated_by=a.updated_by,
    )


@operation("GET", "/knowledge", scope="read", query=ArticleQuery, answer=ArticleList, summary="Articles, by key")
def articles(call: Call) -> ArticleList:
    q: ArticleQuery = call.query
    found = call.desk.knowledge.articles(state=q.state, service=q.service)
    return ArticleList(articles=[article_out(call, a) for a in found])


@operation(
    "GET", "/knowledge/search", scope="read", query=SearchQuery, answer=Hits, summary="Search published articles"
)
def search(call: Call) -> Hits:
    """Best first, with the catalog's typo tolerance; with ``customer``, only those in their audience."""
    q: SearchQuery = call.query
    hits = call.desk.knowledge.search(q.q, customer=q.customer, limit=q.limit)
    return Hits(hits=[Hit(article=article_out(call, h.article), score=h.score, matched=h.matched) for h in hits])


@operation("GET", "/knowledge/{key}", scope="read", answer=ArticleOut, summary="An article as it stands")
def read_article(call: Call) -> ArticleOut:
    return article_out(call, call.desk.knowledge.get(call.path["key"]))


@operation(
    "POST",
    "/knowledge",
    scope="agent",
    body=NewArticle,
    answer=ArticleOut,
    status=201,
    conflict=True,
    summary="Write a new draft article (409 when the key is taken; 422 names a bad field or the size limit)",
)
def create(call: Call) -> ArticleOut:
    b: NewArticle = call.body
    a = call.desk.knowledge.create(
        b.key,
        b.title,
        b.body,
        services=b.services,
        keywords=b.keywords,
        audience=b.audience,
        owner=b.owner,
        actor=call.actor,
        note=b.note or "written",
    )
    return article_out(call, a)


@operation(
    "PATCH",
    "/knowledge/{key}",
    scope="agent",
    body=ArticleEdit,
    answer=ArticleOut,
    conflict=True,
    summary="Save a new version, started from base_version (409 with the diff when another was saved since)",
)
def edit(call: Call) -> ArticleOut:
    b: ArticleEdit = call.body
    a = call.desk.knowledge.edit(
        call.path["key"],
        base_version=b.base_version,
        actor=call.actor,
        note=b.note or "edited",
        title=b.title,
        body=b.body,
        services=b.services,
        keywords=b.keywords,
        audience=b.audience,
        owner=b.owner,
    )
    return article_out(call, a)


@operation(
    "POST",
    "/knowledge/{key}/publish",
    scope="agent",
    body=Note,
    answer=ArticleOut,
    conflict=True,
    summary="Publish a draft (or a retired article again): customers in its audience find it from now on",
)
def publish(call: Call) -> ArticleOut:
    b: Note = call.body
    return article_out(
        call, call.desk.knowledge.publish(call.path["key"], actor=call.actor, note=b.note or "published")
    )


@operation(
    "POST",
    "/knowledge/{key}/retire",
    scope="agent",
    body=Note,
    answer=Retired,
    conflict=True,
    summary="Retire an article; the answer lists the open demands it answered",
)
def retire(call: Call) -> Retired:
    b: Note = call.body
    done = call.desk.knowledge.retire(call.path["key"], actor=call.actor, note=b.note or "retired")
    return Retired(article=article_out(call, done.article), open_demands=list(done.open_demands))


@operation("GET", "/knowledge/{key}/history", scope="read", answer=History, summary="Every saved version, oldest first")
def history(call: Call) -> History:
    key = call.path["key"]
    versions = call.desk.knowledge.history(key)
    return History(
        key=key,
        versions=[
            VersionOut(
                version=v.version,
                title=v.title,
                state=str(v.state),
                changed_by=v.changed_by,
                note=v.note,
                at=when(v.changed_at),
            )
            for v in versions
        ],
    )


@operation(
    "GET", "/knowledge/{key}/diff", scope="read", query=DiffQuery, answer=Diff, summary="A diff between two versions"
)
def diff(call: Call) -> Diff:
    q: DiffQuery = call.query
    key = call.path["key"]
    return Diff(key=key, diff=call.desk.knowledge.diff(key, q.old, q.new))
