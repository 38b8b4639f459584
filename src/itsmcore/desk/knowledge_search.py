"""Knowledge search: the catalog's search engine over published articles, with the same typo tolerance.

As for services (:mod:`itsmcore.catalog`): SQLite's FTS5 with porter stemming for words
and word forms, and each word the index does not know corrected to the closest words of
the articles' vocabulary by trigram similarity; PostgreSQL's weighted tsvector and
``pg_trgm`` on the articles' table itself. A title match ranks above a keyword match,
which ranks above a match in the body. A customer's groups filter in SQL, so an article
for a group they are not in is never a candidate.

The SQLite index is kept as articles change (:func:`add` when published or edited while
published, :func:`remove` otherwise); the vocabulary only grows, and a word left behind by
a retired article corrects a typo to an article no longer there, which finds nothing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

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
_TERM = text("SELECT rowid FROM knowledge_fts WHERE knowledge_fts MATCH :q LIMIT :cap")
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


def _fts_sqlite(conn: Connection, terms: list[str], groups: Iterable[str] | None) -> dict[str, tuple[float, str, str]]:
    """Key -> (relative score, title, keywords) of the best candidates, titles and keywords first.

    Each word is looked up on its own (FTS5 hands back the row ids, which costs little
    however many match) and weighs by how rare it is, so an article with the rarer
    words of the query comes first, without ranking every article that holds a common
    one (what bm25 over ``word OR word`` costs). Bodies are searched only when titles
    and keywords find fewer than :data:`ENOUGH`, a match there weighs :data:`BODY_WEIGHT`,
    and a word in more than :data:`COMMON` bodies is passed over there: it tells nothing.
    The customer's audience is filtered in SQL as the candidates are read.
    """
    scores: dict[int, float] = {}
    for columns, weight, cap in (("{title keywords}", 1.0, COMMON * 10), ("{body}", BODY_WEIGHT, COMMON)):
        for term in terms:
            ids = conn.execute(_TERM, {"q": f'{columns} : "{term}"*', "cap": cap + 1}).scalars().all()
            if len(ids) > cap:
                continue
            w = weight / math.log2(2 + len(ids))
            for rowid in ids:
                scores[rowid] = scores.get(rowid, 0.0) + w
        if len(scores) >= ENOUGH:
            break
    if not scores:
        return {}
    ranked = sorted(scores, key=lambda r: -scores[r])
    best = scores[ranked[0]]
    where, params = _audience(groups, "audience_text")
    read = text(
        "SELECT rowid AS rid, key, title, keywords_text FROM knowledge_articles "
        f"WHERE rowid IN (SELECT value FROM json_each(:ids)) AND state = 'published'{where}"
    )
    found: dict[str, tuple[float, str, str]] = {}
    for start in range(0, min(len(ranked), CANDIDATES * 25), CANDIDATES):
        batch = ranked[start : start + CANDIDATES]
        for r in conn.execute(read, {"ids": json.dumps(batch), **params}):
            found[r.key] = (scores[r.rid] / best, r.title, r.keywords_text)
        if len(found) >= CANDIDATES:
            break
    return found


def _postgres(
    conn: Connection, terms: list[str], groups: Iterable[str] | None
) -> tuple[dict[str, Any], dict[str, float]]:
    where, params = _audience(groups, "audience_text")
    vector = (
        "setweight(to_tsvector('english', title || ' ' || keywords_text), 'A') || "
        "setweight(to_tsvector('english', body), 'C')"
    )
    cleaned = [re.sub(r"[^a-z0-9]", "", w) for w in terms]
    query = " | ".join(f"{w}:*" for w in cleaned if w)
    fts: dict[str, Any] = {}
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
        fts = {r.key: (r.rank / best, r.title, r.keywords_text) for r in rows}
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
        fts.setdefault(r.key, (0.0, r.title, r.keywords_text))
    return fts, {r.key: float(r.score) for r in similar_rows}


def search(
    conn: Connection, query: str, *, groups: Iterable[str] | None = None, limit: int = 10
) -> list[tuple[str, float, str]]:
    """(key, score, matched) of the published articles matching ``query`` best first; ``groups`` None: all audiences."""
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
        found = _fts_sqlite(conn, corrected, groups)
        similar = {}
        if corrections:
            for key, (_rank, title, keywords) in found.items():
                hit = set(words(f"{title} {keywords}")) & corrections.keys()
                if hit:
                    similar[key] = max(corrections[w] for w in hit)
    phrase = " ".join(terms)
    hits: list[tuple[str, float, str]] = []
    for key, (rank, title, keywords) in found.items():
        title_words, keyword_words = set(words(title)), set(words(keywords))
        score = rank + 1.5 * similar.get(key, 0.0)
        matched = "similar" if key in similar and not set(terms) & (title_words | keyword_words) else "text"
        if phrase == title.casefold() or any(_starts(w, title_words) for w in corrected):
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


def _starts(term: str, candidates: set[str]) -> bool:
    """``term`` is one of the words, or a stem of one ("expense" for "expenses") and the other way round."""
    if term in candidates:
        return True
    if len(term) < 4:
        return False
    return any(c.startswith(term) or (len(c) >= 4 and term.startswith(c)) for c in candidates)
