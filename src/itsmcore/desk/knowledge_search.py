"""Knowledge search: the catalog's search engine over published articles, with the same typo tolerance.

As for services (:mod:`itsmcore.catalog`): SQLite's FTS5 with porter stemming for words
and word forms, and each word the index does not know corrected to the closest words of
the articles' vocabulary by trigram similarity; PostgreSQL's weighted tsvector and
``pg_trgm`` on the articles' table itself. A title match ranks above a keyword match,
which ranks above a match in the body. An article for a group the customer is not in is
never a candidate (group names compared exactly, as :meth:`Article.visible_to` does).

On SQLite the index hands back row ids; the desk keeps the published articles' titles,
keywords and audience in memory (:class:`Published`, as the catalog keeps its services'
words), so the candidates of a common word, 1,500 of 10,000 articles, are scored and
filtered without reading their rows. It notices a save made by any process from the store's
stamp before each search. On PostgreSQL the audience is filtered in the query itself.

The SQLite index is kept as articles change (:func:`add` when published or edited while
published, :func:`remove` otherwise); the vocabulary only grows, and a word left behind by
a retired article corrects a typo to an article no longer there, which finds nothing.
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

import attrs
from sqlalchemy import Connection, text

from ..catalog import MIN_SIMILARITY, trigrams, words
from ..model.knowledge import Article, ArticleState
from ..store import tables as t
from ..store.sql import insert_ignore

CANDIDATES = 20
#: Candidates that make a query's later, costlier stages needless (see :func:`_fts_sqlite`).
ENOUGH = 10
#: How a match found only in the body ranks against one in the title or keywords.
BODY_WEIGHT = 0.5
#: Bodies a word may be in and still be looked up there (ten times as many titles).
COMMON = 1000
#: Words a question is made of that say nothing about what it is about (kept when nothing else is left).
STOP_WORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "by", "can", "could", "do", "does", "for", "from", "get"),
        *("has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "need", "not", "of"),
        *("on", "or", "our", "please", "should", "so", "that", "the", "their", "then", "there", "this", "to"),
        *("up", "was", "we", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your"),
    }
)
#: Words of an article's body put in the vocabulary (the start of the body says what it is about).
BODY_WORDS = 400

_KNOWN = text("SELECT 1 FROM knowledge_words WHERE word >= :w AND word < :end LIMIT 1")
_CLOSEST = text(
    "SELECT g.word, count(*) * 1.0 / (w.grams + :n - count(*)) AS sim "
    "FROM knowledge_grams g JOIN knowledge_words w ON w.word = g.word "
    "WHERE g.gram IN (SELECT value FROM json_each(:grams)) "
    "GROUP BY g.word, w.grams ORDER BY sim DESC LIMIT 3"
)


def _vocabulary(article: Article) -> set[str]:
    body = words(article.body)[:BODY_WORDS]
    found = words(f"{article.title} {' '.join(article.keywords)}") + body
    return {w for w in found if 3 <= len(w) <= 64 and not w.isdigit()}


def add(conn: Connection, article: Article) -> None:
    """Put a published article in the index (in the caller's transaction); PostgreSQL needs nothing."""
    if conn.dialect.name != "sqlite" or article.state != ArticleState.PUBLISHED:
        return
    remove(conn, article.key)
    # the index row shares the article row's rowid: a word's matches are read as row ids alone
    conn.execute(
        text(
            "INSERT INTO knowledge_fts (rowid, key, title, keywords, body) "
            "SELECT rowid, key, :title, :keywords, :body FROM knowledge_articles WHERE key = :key"
        ),
        {"key": article.key, "title": article.title, "keywords": " ".join(article.keywords), "body": article.body},
    )
    vocab = sorted(_vocabulary(article))
    if vocab:
        conn.execute(insert_ignore(conn, t.knowledge_words), [{"word": w, "grams": len(trigrams(w))} for w in vocab])
        conn.execute(
            insert_ignore(conn, t.knowledge_grams), [{"gram": g, "word": w} for w in vocab for g in trigrams(w)]
        )


def remove(conn: Connection, key: str) -> None:
    """Take an article out of the index (it was retired, or is about to be indexed again)."""
    if conn.dialect.name == "sqlite":
        conn.execute(
            text("DELETE FROM knowledge_fts WHERE rowid = (SELECT rowid FROM knowledge_articles WHERE key = :key)"),
            {"key": key},
        )


def _audience(groups: Iterable[str] | None, column: str) -> tuple[str, dict[str, Any]]:
    """SQL keeping the articles for everyone and those for one of ``groups`` (nothing for the desk itself)."""
    if groups is None:
        return "", {}
    params: dict[str, Any] = {}
    terms = [f"{column} = ''"]
    for i, g in enumerate(sorted(set(groups))[:64]):
        escaped = g.replace("!", "!!").replace("%", "!%").replace("_", "!_")
        params[f"g{i}"] = f"%|{escaped}|%"
        terms.append(f"{column} LIKE :g{i} ESCAPE '!'")
    return " AND (" + " OR ".join(terms) + ")", params


def _corrections(conn: Connection, terms: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for term in terms:
        if conn.execute(_KNOWN, {"w": term, "end": term + "\U0010ffff"}).first() is not None:
            continue
        grams = sorted(trigrams(term))
        for row in conn.execute(_CLOSEST, {"grams": json.dumps(grams), "n": len(grams)}):
            if row.sim >= MIN_SIMILARITY and row.word not in out:
                out[row.word] = float(row.sim)
    return out


_EVERYONE: frozenset[str] = frozenset()


@attrs.frozen
class Entry:
    """A published article as the search filters and ranks it."""

    key: str
    title: str
    keywords: str
    audience: frozenset[str]

    @classmethod
    def of(cls, key: str, title: str, keywords: str, audience_text: str) -> Entry:
        audience = frozenset(g for g in audience_text.split("|") if g) if audience_text else _EVERYONE
        return cls(key=key, title=title, keywords=keywords, audience=audience)

    def visible_to(self, groups: frozenset[str] | None) -> bool:
        return groups is None or not self.audience or not self.audience.isdisjoint(groups)

    @functools.cached_property
    def title_words(self) -> frozenset[str]:
        """The title's words, split when the article is first found rather than when it is read."""
        return frozenset(words(self.title))

    @functools.cached_property
    def keyword_words(self) -> frozenset[str]:
        return frozenset(words(self.keywords))


#: Grows by one with every version of every article saved, whichever process saved it.
_STAMP = text("SELECT max(rowid) FROM knowledge_versions")
_PUBLISHED = text(
    "SELECT rowid AS rid, key, title, keywords_text, audience_text FROM knowledge_articles WHERE state = 'published'"
)
_CHANGED = text(
    "SELECT a.rowid AS rid, a.key, a.title, a.keywords_text, a.audience_text, a.state FROM knowledge_articles a "
    "WHERE a.key IN (SELECT key FROM knowledge_versions WHERE rowid > :since)"
)


class Published:
    """The published articles' titles, keywords and audience in memory, by the row id the SQLite index finds.

    Read in full on first use; before each search the store's stamp (the last version saved,
    see :data:`_STAMP`) is compared with the one read, and the articles saved since, in this
    process or another, are read again. So a search reads row ids from the index and no
    article row until it returns its ten.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._by_row: dict[int, Entry] = {}
        self._row_of: dict[str, int] = {}

    def current(self, conn: Connection) -> dict[int, Entry]:
        """Row id -> :class:`Entry` of every published article, as the store holds them now."""
        stamp = int(conn.execute(_STAMP).scalar() or 0)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._refresh(conn, stamp)
        return self._by_row

    def _refresh(self, conn: Connection, stamp: int) -> None:
        if self._stamp is None or stamp < self._stamp:  # first use, or a store put back to an older state
            rows = conn.execute(_PUBLISHED).all()
            self._by_row = {r.rid: Entry.of(r.key, r.title, r.keywords_text, r.audience_text) for r in rows}
            self._row_of = {r.key: r.rid for r in rows}
        else:
            by_row, row_of = dict(self._by_row), dict(self._row_of)
            for r in conn.execute(_CHANGED, {"since": self._stamp}):
                old = row_of.pop(r.key, None)
                if old is not None:
                    by_row.pop(old, None)
                if r.state == ArticleState.PUBLISHED:
                    by_row[r.rid] = Entry.of(r.key, r.title, r.keywords_text, r.audience_text)
                    row_of[r.key] = r.rid
            self._by_row, self._row_of = by_row, row_of
        self._stamp = stamp


def _row_ids(conn: Connection, query: str, cap: int) -> list[int]:
    """Row ids of the index's matches, read through the driver: a common word's are 1,500 of them."""
    cursor = conn.connection.driver_connection.execute(  # type: ignore[union-attr]
        "SELECT rowid FROM knowledge_fts WHERE knowledge_fts MATCH ? LIMIT ?", (query, cap)
    )
    return [r[0] for r in cursor.fetchall()]


def _fts_sqlite(
    conn: Connection, terms: list[str], groups: frozenset[str] | None, published: Published
) -> dict[str, tuple[float, Entry]]:
    """Key -> ``(relative score, entry)`` of the best candidates, titles and keywords first.

    Each word is looked up on its own (FTS5 hands back the row ids, which costs little
    however many match) and weighs by how rare it is, so an article with the rarer
    words of the query comes first, without ranking every article that holds a common
    one (what bm25 over ``word OR word`` costs). Bodies are searched only when titles
    and keywords find fewer than :data:`ENOUGH`, a match there weighs :data:`BODY_WEIGHT`,
    and a word in more than :data:`COMMON` bodies is passed over there: it tells nothing.
    The candidates' titles, keywords and audience are those held in memory (:class:`Published`).
    """
    scores: dict[int, float] = {}
    for columns, weight, cap in (("{title keywords}", 1.0, COMMON * 10), ("{body}", BODY_WEIGHT, COMMON)):
        for term in terms:
            ids = _row_ids(conn, f'{columns} : "{term}"*', cap + 1)
            if len(ids) > cap:
                continue
            w = weight / math.log2(2 + len(ids))
            get = scores.get
            for rowid in ids:
                scores[rowid] = get(rowid, 0.0) + w
        if len(scores) >= ENOUGH:
            break
    if not scores:
        return {}
    ranked = sorted(scores.items(), key=itemgetter(1), reverse=True)
    best = ranked[0][1]
    articles = published.current(conn)
    found: dict[str, tuple[float, Entry]] = {}
    # in batches, as many as the candidates' rows were once read in: the same candidates are kept
    for start in range(0, min(len(ranked), CANDIDATES * 25), CANDIDATES):
        for rowid, score in ranked[start : start + CANDIDATES]:
            entry = articles.get(rowid)
            if entry is not None and entry.visible_to(groups):
                found[entry.key] = (score / best, entry)
        if len(found) >= CANDIDATES:
            break
    return found


def _postgres(
    conn: Connection, terms: list[str], groups: Iterable[str] | None
) -> tuple[dict[str, tuple[float, Entry]], dict[str, float]]:
    where, params = _audience(groups, "audience_text")
    vector = (
        "setweight(to_tsvector('english', title || ' ' || keywords_text), 'A') || "
        "setweight(to_tsvector('english', body), 'C')"
    )
    cleaned = [re.sub(r"[^a-z0-9]", "", w) for w in terms]
    query = " | ".join(f"{w}:*" for w in cleaned if w)
    fts: dict[str, tuple[float, Entry]] = {}
    if query:
        rows = conn.execute(
            text(
                f"SELECT key, title, keywords_text, ts_rank('{{0.1, 0.2, 0.4, 1.0}}', {vector}, q) AS rank "
                f"FROM knowledge_articles, to_tsquery('english', :q) q "
                f"WHERE state = 'published' AND {vector} @@ q{where} ORDER BY rank DESC LIMIT :n"
            ),
            {"q": query, "n": CANDIDATES, **params},
        ).all()
        best = max((r.rank for r in rows), default=0.0) or 1.0
        fts = {r.key: (r.rank / best, Entry.of(r.key, r.title, r.keywords_text, "")) for r in rows}
    # each word on its own against titles and keywords, at the similarity SQLite's correction
    # asks for (pg_trgm's default threshold, 0.6, misses "reprot" for "report")
    typed = [w for w in cleaned if len(w) >= 3][:8]
    similar_rows: Sequence[Any] = ()
    if typed:
        conn.execute(
            text("SELECT set_config('pg_trgm.word_similarity_threshold', :t, true)"), {"t": str(MIN_SIMILARITY)}
        )
        line = "lower(title || ' ' || keywords_text)"
        names = {f"t{i}": w for i, w in enumerate(typed)}
        best_of = ", ".join(f"word_similarity(:{n}, {line})" for n in names)
        matches = " OR ".join(f":{n} <% {line}" for n in names)
        similar_rows = conn.execute(
            text(
                f"SELECT key, title, keywords_text, GREATEST({best_of}) AS score FROM knowledge_articles "
                f"WHERE state = 'published' AND ({matches}){where} ORDER BY score DESC LIMIT :n"
            ),
            {**names, "n": CANDIDATES, **params},
        ).all()
    for r in similar_rows:
        if r.key not in fts:
            fts[r.key] = (0.0, Entry.of(r.key, r.title, r.keywords_text, ""))
    return fts, {r.key: float(r.score) for r in similar_rows}


def search(
    conn: Connection,
    query: str,
    *,
    groups: Iterable[str] | None = None,
    limit: int = 10,
    published: Published | None = None,
) -> list[tuple[str, float, str]]:
    """(key, score, matched) of the published articles matching ``query`` best first; ``groups`` None: all audiences.

    ``published`` is the desk's :class:`Published` (SQLite); without it the articles are read for this search alone.
    """
    every = [w for w in words(query) if len(w) >= 2]
    terms = ([w for w in every if w not in STOP_WORDS] or every)[:12]
    if not terms or limit <= 0:
        return []
    corrected = terms
    if conn.dialect.name == "postgresql":
        found, similar = _postgres(conn, terms, groups)
    else:
        corrections = _corrections(conn, terms)
        corrected = terms + list(corrections)
        audience = frozenset(sorted(set(groups))[:64]) if groups is not None else None
        found = _fts_sqlite(conn, corrected, audience, published if published is not None else Published())
        similar = {}
        if corrections:
            for key, (_rank, entry) in found.items():
                hit = (entry.title_words | entry.keyword_words) & corrections.keys()
                if hit:
                    similar[key] = max(corrections[w] for w in hit)
    phrase = " ".join(terms)
    asked = set(terms)
    hits: list[tuple[str, float, str]] = []
    for key, (rank, entry) in found.items():
        title_words, keyword_words = entry.title_words, entry.keyword_words
        score = rank + 1.5 * similar.get(key, 0.0)
        matched = "similar" if key in similar and asked.isdisjoint(title_words | keyword_words) else "text"
        if phrase == entry.title.casefold() or any(_starts(w, title_words) for w in corrected):
            score += 3.0
            matched = "title" if matched != "similar" else matched
        elif any(_starts(w, keyword_words) for w in corrected):
            score += 2.5
            matched = "keyword" if matched != "similar" else matched
        elif rank == 0.0 and similar.get(key, 0.0) < 0.45:
            continue  # a weak trigram overlap alone is noise
        hits.append((key, score, matched))
    hits.sort(key=lambda h: (-h[1], h[0]))
    return hits[:limit]


def _starts(term: str, candidates: frozenset[str]) -> bool:
    """``term`` is one of the words, or a stem of one ("expense" for "expenses") and the other way round."""
    if term in candidates:
        return True
    if len(term) < 4:
        return False
    return any(c.startswith(term) or (len(c) >= 4 and term.startswith(c)) for c in candidates)
