"""The knowledge base: articles written, versioned, published and retired in the store, and found by customers.

Every saved change is a version (who, when, a note), so an article's history can be read
and any two versions compared. An edit names the version it started from; when someone
else saved a different text meanwhile, it is refused with an
:class:`~itsmcore.model.knowledge.EditConflict` that carries the diff, and nothing is lost.

Published articles are found by the catalog's search engine (:mod:`.knowledge_search`),
with the same typo tolerance, and only by customers in their audience. ``[[knowledge]]``
tables of the deployment config are imported once, the first time a desk opens on the
store: as **published**, because they were already answering customers, so a deployment
keeps working unchanged; from then on the store holds them (edit them with ``itsm kb``).
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import Connection, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..config import did_you_mean
from ..errors import Conflict, InvalidInput, NotFound
from ..markdown import MAX_BODY_CHARS, plain, render
from ..model import Customer, DemandState
from ..model.knowledge import ARTICLE_MOVES, Article, ArticleState, ArticleVersion, EditConflict, as_document
from ..store import tables as t
from ..store.rows import aware
from . import knowledge_search as index
from .context import Context
from .customers import Customers

log = logging.getLogger(__name__)

#: An article's key: lower-case letters, digits, dots, dashes and underscores.
KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
MAX_TITLE = 300
#: The actor of articles imported from the config.
FROM_CONFIG = "config"


@attrs.frozen(kw_only=True)
class ArticleHit:
    """One article found for a search: the article, how well it matched, and on what."""

    article: Article
    score: float
    matched: str  # "title", "keyword", "text" or "similar"


@attrs.frozen(kw_only=True)
class Retirement:
    """A retired article and the open demands it answered (their customers may come back to it)."""

    article: Article
    open_demands: tuple[int, ...] = ()


def _when(value: datetime) -> datetime:
    when = aware(value)
    assert when is not None  # the columns are NOT NULL
    return when


def _article(row: Any) -> Article:
    return Article(
        key=row.key,
        title=row.title,
        body=row.body,
        services=tuple(row.services or ()),
        keywords=tuple(row.keywords or ()),
        audience=tuple(row.audience or ()),
        owner=row.owner,
        state=ArticleState(row.state),
        version=int(row.version),
        updated_at=_when(row.updated_at),
        updated_by=row.updated_by,
    )


def _version(row: Any) -> ArticleVersion:
    return ArticleVersion(
        key=row.key,
        version=int(row.version),
        title=row.title,
        body=row.body,
        services=tuple(row.services or ()),
        keywords=tuple(row.keywords or ()),
        audience=tuple(row.audience or ()),
        owner=row.owner,
        state=ArticleState(row.state),
        changed_by=row.changed_by,
        changed_at=_when(row.changed_at),
        note=row.note,
    )


def document(a: Article | ArticleVersion) -> str:
    """The article's text as an editor shows it and as versions are compared."""
    return as_document(a.title, a.body, a.services, a.keywords, a.audience, a.owner)


def diff(old: Article | ArticleVersion, new: Article | ArticleVersion) -> str:
    """A unified diff between two versions' texts (empty when they say the same)."""
    return "".join(
        difflib.unified_diff(
            document(old).splitlines(keepends=True),
            document(new).splitlines(keepends=True),
            fromfile=f"{old.key} version {old.version}",
            tofile=f"{new.key} version {new.version}",
        )
    )


def _texts(keywords: Iterable[str], audience: Iterable[str]) -> dict[str, str]:
    aud = list(audience)
    return {"keywords_text": " ".join(keywords), "audience_text": f"|{'|'.join(aud)}|" if aud else ""}


class Knowledge:
    """Articles in the store: write, version, publish, retire, search, and what customers made of them."""

    def __init__(self, ctx: Context, customers: Customers):
        self.ctx = ctx
        self.customers = customers
        #: the published articles' titles, keywords and audience, kept for the search (SQLite)
        self.published = index.Published()

    # ------------------------------------------------------------------ checks

    def _check(
        self,
        *,
        title: str,
        body: str,
        services: Sequence[str],
        keywords: Sequence[str],
        audience: Sequence[str],
    ) -> None:
        if not title.strip():
            raise InvalidInput("an article needs a title, in the customer's words")
        if len(title) > MAX_TITLE:
            raise InvalidInput(f"the title is {len(title):,} characters; at most {MAX_TITLE} are allowed")
        if not body.strip():
            raise InvalidInput("an article needs a body: the answer itself, in Markdown")
        if len(body) > MAX_BODY_CHARS:
            raise InvalidInput(
                f"the body is {len(body):,} characters; at most {MAX_BODY_CHARS:,} are allowed (MAX_BODY_CHARS): "
                "split it into several articles"
            )
        for s in services:
            if s not in self.ctx.services:
                raise InvalidInput(f"unknown service {s!r}; {did_you_mean(s, self.ctx.services)}".rstrip("; "))
        for word in (*keywords, *audience):
            if not word.strip() or "|" in word:
                raise InvalidInput(f"{word!r} cannot be a keyword or a group: it is empty or holds '|'")

    # ------------------------------------------------------------------ writing

    def create(
        self,
        key: str,
        title: str,
        body: str,
        *,
        services: Sequence[str] = (),
        keywords: Sequence[str] = (),
        audience: Sequence[str] = (),
        owner: str = "",
        actor: str,
        note: str = "written",
    ) -> Article:
        """A new draft article (version 1); Conflict when the key is taken, InvalidInput for bad fields."""
        if not KEY.match(key or ""):
            raise InvalidInput(
                f"article key {key!r}: use lower-case letters, digits, '.', '-' and '_' (at most 128), e.g. 'vpn-setup'"
            )
        self._check(title=title, body=body, services=services, keywords=keywords, audience=audience)
        try:
            with self.ctx.engine.begin() as conn:
                return self._insert(
                    conn,
                    key=key,
                    title=title.strip(),
                    body=body,
                    services=tuple(services),
                    keywords=tuple(keywords),
                    audience=tuple(audience),
                    owner=owner or actor,
                    state=ArticleState.DRAFT,
                    actor=actor,
                    note=note,
                )
        except IntegrityError:
            raise Conflict(f"there is an article {key!r} already; edit it, or choose another key") from None

    def _insert(self, conn: Connection, *, state: ArticleState, actor: str, note: str, **fields: Any) -> Article:
        now = self.ctx.clock()
        conn.execute(
            insert(t.knowledge_articles).values(
                **fields,
                **_texts(fields["keywords"], fields["audience"]),
                state=str(state),
                version=1,
                updated_at=now,
                updated_by=actor,
            )
        )
        conn.execute(
            insert(t.knowledge_versions).values(
                **fields, version=1, state=str(state), changed_by=actor, changed_at=now, note=note
            )
        )
        article = self._get(conn, fields["key"])
        if state == ArticleState.PUBLISHED:
            index.add(conn, article)
        return article

    def edit(
        self,
        key: str,
        *,
        base_version: int,
        actor: str,
        note: str = "edited",
        title: str | None = None,
        body: str | None = None,
        services: Sequence[str] | None = None,
        keywords: Sequence[str] | None = None,
        audience: Sequence[str] | None = None,
        owner: str | None = None,
    ) -> Article:
        """Save a new version of an article started from ``base_version``; fields left ``None`` stay as they are.

        Raises :class:`~itsmcore.model.knowledge.EditConflict` (with the diff) when another
        version with a different text was saved since ``base_version``; a version that only
        published or retired it does not count. An edit that changes nothing saves nothing.
        """
        with self.ctx.engine.begin() as conn:
            current = self._get(conn, key)
            base = self._version(conn, key, base_version)
            if current.version != base_version:
                since = [
                    _version(r)
                    for r in conn.execute(
                        select(t.knowledge_versions)
                        .where(t.knowledge_versions.c.key == key, t.knowledge_versions.c.version > base_version)
                        .order_by(t.knowledge_versions.c.version)
                    )
                ]
                if any(document(v) != document(base) for v in since):
                    changed = diff(base, current)
                    raise EditConflict(
                        f"article {key!r} was changed by {current.updated_by} after version {base_version} "
                        f"(now version {current.version}); your edit was not saved. What changed meanwhile:\n"
                        f"{changed}Start again from version {current.version} (itsm kb show {key}).",
                        key=key,
                        base=base_version,
                        current=current.version,
                        diff=changed,
                    )
            new = attrs.evolve(
                current,
                title=(title if title is not None else current.title).strip(),
                body=body if body is not None else current.body,
                services=tuple(services) if services is not None else current.services,
                keywords=tuple(keywords) if keywords is not None else current.keywords,
                audience=tuple(audience) if audience is not None else current.audience,
                owner=owner if owner is not None else current.owner,
            )
            if document(new) == document(current):
                return current
            self._check(
                title=new.title, body=new.body, services=new.services, keywords=new.keywords, audience=new.audience
            )
            return self._save(conn, current, new, actor=actor, note=note)

    def _save(self, conn: Connection, current: Article, new: Article, *, actor: str, note: str) -> Article:
        """Write ``new`` as the next version, if ``current`` is still the latest (else Conflict: retry)."""
        now = self.ctx.clock()
        fields = {
            "title": new.title,
            "body": new.body,
            "services": list(new.services),
            "keywords": list(new.keywords),
            "audience": list(new.audience),
            "owner": new.owner,
        }
        done = conn.execute(
            update(t.knowledge_articles)
            .where(t.knowledge_articles.c.key == current.key, t.knowledge_articles.c.version == current.version)
            .values(
                **fields,
                **_texts(new.keywords, new.audience),
                state=str(new.state),
                version=current.version + 1,
                updated_at=now,
                updated_by=actor,
            )
        )
        if done.rowcount != 1:
            raise Conflict(f"article {current.key!r} changed while it was being saved; nothing was saved, try again")
        conn.execute(
            insert(t.knowledge_versions).values(
                key=current.key,
                version=current.version + 1,
                **fields,
                state=str(new.state),
                changed_by=actor,
                changed_at=now,
                note=note,
            )
        )
        saved = self._get(conn, current.key)
        index.remove(conn, current.key)
        if saved.state == ArticleState.PUBLISHED:
            index.add(conn, saved)
        return saved

    def _move(self, key: str, target: ArticleState, *, actor: str, note: str) -> Article:
        with self.ctx.engine.begin() as conn:
            current = self._get(conn, key)
            moves = ARTICLE_MOVES[current.state]
            if target not in moves:
                raise Conflict(
                    f"article {key!r} is {current.state}; from there it can only be "
                    + " or ".join(sorted(str(m) for m in moves)),
                    state=str(current.state),
                    allowed=[str(m) for m in moves],
                )
            return self._save(conn, current, attrs.evolve(current, state=target), actor=actor, note=note)

    def publish(self, key: str, *, actor: str, note: str = "published") -> Article:
        """Publish a draft (or a retired article again): customers in its audience find it from now on."""
        return self._move(key, ArticleState.PUBLISHED, actor=actor, note=note)

    def retire(self, key: str, *, actor: str, note: str = "retired") -> Retirement:
        """Retire an article: no longer found or offered. The open demands it answered are listed to warn the caller."""
        article = self._move(key, ArticleState.RETIRED, actor=actor, note=note)
        open_demands = self.answering(key)
        if open_demands:
            log.warning(
                "article %s retired while it answers %d open demand(s): %s",
                key,
                len(open_demands),
                ", ".join(f"#{d}" for d in open_demands),
            )
        return Retirement(article=article, open_demands=open_demands)

    # ------------------------------------------------------------------ reading

    def _get(self, conn: Connection, key: str) -> Article:
        row = conn.execute(select(t.knowledge_articles).where(t.knowledge_articles.c.key == key)).first()
        if row is None:
            keys = [r[0] for r in conn.execute(select(t.knowledge_articles.c.key))]
            raise NotFound(f"no article {key!r}; {did_you_mean(key, keys)}".rstrip("; "))
        return _article(row)

    def _version(self, conn: Connection, key: str, version: int) -> ArticleVersion:
        row = conn.execute(
            select(t.knowledge_versions).where(
                t.knowledge_versions.c.key == key, t.knowledge_versions.c.version == version
            )
        ).first()
        if row is None:
            latest = self._get(conn, key).version
            raise NotFound(f"article {key!r} has no version {version}; its versions are 1 to {latest}")
        return _version(row)

    def get(self, key: str, *, customer: str | Customer | None = None) -> Article:
        """An article; for a ``customer``, only a published one in their audience (NotFound otherwise, as if none)."""
        with self.ctx.engine.connect() as conn:
            article = self._get(conn, key)
        if customer is not None:
            groups = self.customers.resolve(customer).groups
            if article.state != ArticleState.PUBLISHED or not article.visible_to(groups):
                raise NotFound(f"no article {key!r}")
        return article

    def articles(self, *, state: ArticleState | str | None = None, service: str | None = None) -> list[Article]:
        """Every article (or those in ``state``, or about ``service``), by key."""
        q = select(t.knowledge_articles).order_by(t.knowledge_articles.c.key)
        if state is not None:
            q = q.where(t.knowledge_articles.c.state == str(ArticleState(state)))
        with self.ctx.engine.connect() as conn:
            found = [_article(r) for r in conn.execute(q)]
        return [a for a in found if service is None or service in a.services]

    def history(self, key: str) -> list[ArticleVersion]:
        """Every saved version of an article, oldest first."""
        with self.ctx.engine.connect() as conn:
            self._get(conn, key)
            return [
                _version(r)
                for r in conn.execute(
                    select(t.knowledge_versions)
                    .where(t.knowledge_versions.c.key == key)
                    .order_by(t.knowledge_versions.c.version)
                )
            ]

    def version(self, key: str, version: int) -> ArticleVersion:
        with self.ctx.engine.connect() as conn:
            return self._version(conn, key, version)

    def diff(self, key: str, old: int, new: int | None = None) -> str:
        """A unified diff between two versions (``new`` defaults to the latest)."""
        with self.ctx.engine.connect() as conn:
            a = self._version(conn, key, old)
            b = self._version(conn, key, new if new is not None else self._get(conn, key).version)
        return diff(a, b)

    @staticmethod
    def render(article: Article | ArticleVersion) -> str:
        """The article's body as safe HTML (see :mod:`itsmcore.markdown`)."""
        return render(article.body)

    @staticmethod
    def summary(article: Article | ArticleVersion, limit: int = 300) -> str:
        """The start of the article's text, without Markdown (for result cards and messages)."""
        return plain(article.body, limit)

    def answering(self, key: str) -> tuple[int, ...]:
        """Open demands this article answered (by self-service), oldest first."""
        u, d = t.knowledge_uses, t.demands
        finished = [str(s) for s in (DemandState.CLOSED, DemandState.REJECTED)]
        with self.ctx.engine.connect() as conn:
            rows = conn.execute(
                select(d.c.id)
                .join(u, u.c.demand_id == d.c.id)
                .where(u.c.article_key == key, d.c.state.not_in(finished))
                .distinct()
                .order_by(d.c.id)
            )
            return tuple(int(r.id) for r in rows)

    # ------------------------------------------------------------------ finding

    def search(self, query: str, *, customer: str | Customer | None = None, limit: int = 10) -> list[ArticleHit]:
        """Published articles matching ``query``, best first; with ``customer``, only those in their audience."""
        groups = self.customers.resolve(customer).groups if customer is not None else None
        with self.ctx.engine.connect() as conn:
            found = index.search(conn, query, groups=groups, limit=limit, published=self.published)
            if not found:
                return []
            rows = {
                r.key: _article(r)
                for r in conn.execute(
                    select(t.knowledge_articles).where(t.knowledge_articles.c.key.in_([k for k, _, _ in found]))
                )
            }
        return [ArticleHit(article=rows[k], score=s, matched=m) for k, s, m in found if k in rows]

    # ------------------------------------------------------------------ what customers made of it

    def record_search(self, query: str, customer: str, *, services: int, articles: int) -> None:
        """Remember a customer's search and how much it found (the knowledge report lists those finding nothing)."""
        q = " ".join(query.split())[:200]
        if not q:
            return
        with self.ctx.engine.begin() as conn:
            conn.execute(
                insert(t.knowledge_searches).values(
                    query=q, customer_id=customer, services=services, articles=articles, at=self.ctx.clock()
                )
            )

    def record_read(self, key: str, customer: str) -> None:
        """A customer opened an article (from a search, a suggestion or an answer's link)."""
        with self.ctx.engine.begin() as conn:
            conn.execute(
                insert(t.knowledge_uses).values(
                    article_key=key, customer_id=customer, via="read", demand_id=None, at=self.ctx.clock()
                )
            )

    def feedback(self, key: str, customer: str | Customer, helped: bool) -> None:
        """A customer's answer to "did this help?" on an article they may see (NotFound otherwise)."""
        cust = self.customers.resolve(customer)
        self.get(key, customer=cust)
        with self.ctx.engine.begin() as conn:
            conn.execute(
                insert(t.knowledge_feedback).values(
                    article_key=key, customer_id=cust.id, helped=bool(helped), at=self.ctx.clock()
                )
            )

    # ------------------------------------------------------------------ the config's [[knowledge]]

    def import_config(self) -> int:
        """Import the config's ``[[knowledge]]`` articles the store does not hold yet, as published; how many.

        Once imported, an article is the store's: a later change to its ``[[knowledge]]``
        table is not read again (a warning in the log says so), edit it with ``itsm kb edit``.
        """
        articles = self.ctx.config.knowledge
        if not articles:
            return 0
        with self.ctx.engine.connect() as conn:
            held = {
                r.key: r
                for r in conn.execute(
                    select(t.knowledge_versions).where(
                        and_(
                            t.knowledge_versions.c.key.in_([a.key for a in articles]),
                            t.knowledge_versions.c.version == 1,
                        )
                    )
                )
            }
        added = 0
        source = self.ctx.config.path.name
        for a in articles:
            if a.key in held:
                first = held[a.key]
                if first.changed_by == FROM_CONFIG and (first.title, first.body) != (a.title, a.body):
                    log.warning(
                        "[[knowledge]] %s in %s differs from the store's article; the store's is used "
                        "(edit it with: itsm kb edit %s)",
                        a.key,
                        source,
                        a.key,
                    )
                continue
            services = (a.service_key,) if a.service_key and a.service_key in self.ctx.services else ()
            try:
                with self.ctx.engine.begin() as conn:
                    self._insert(
                        conn,
                        key=a.key,
                        title=a.title,
                        body=a.body,
                        services=services,
                        keywords=tuple(a.keywords),
                        audience=(),
                        owner="",
                        state=ArticleState.PUBLISHED,
                        actor=FROM_CONFIG,
                        note=f"imported from [[knowledge]] in {source}, published as it was already live",
                    )
                added += 1
            except IntegrityError:
                continue  # another process imported it first
        return added
