"""Catalog search: what the customer typed, best match first, tolerant of typos and word forms.

The index lives in the database and the query runs there: SQLite's FTS5 (porter
stemming, so "expenses" finds "expense") and PostgreSQL's weighted tsvector for
words; for typos ("expensatorn") a table of trigrams on SQLite and ``pg_trgm`` on
PostgreSQL. Only the few candidates come back to Python, to be ranked so that a
service whose name or keyword matches comes first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import Connection, bindparam, delete, func, insert, select, text

from .model import Service
from .store import tables as t

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
NAME_WEIGHT = 1.0
KEYWORD_WEIGHT = 0.9
CANDIDATES = 40


def words(value: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(value)]


def trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one word: padded with two spaces before and one after."""
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


@attrs.frozen(kw_only=True)
class Hit:
    """One search result before eligibility: the service and how well it matched."""

    service: Service
    score: float
    matched: str  # "name", "keyword", "text" or "similar"


def index_rows(services: Iterable[Service]) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], float] = {}
    for s in services:
        sources = [(w, NAME_WEIGHT) for w in words(s.name) + words(s.key)]
        sources += [(w, KEYWORD_WEIGHT) for k in s.keywords for w in words(k)]
        for word, weight in sources:
            for g in trigrams(word):
                key = (g, s.key)
                rows[key] = max(rows.get(key, 0.0), weight)
    return [{"gram": g, "key": k, "weight": w} for (g, k), w in rows.items()]


def rebuild(conn: Connection, services: Sequence[Service]) -> None:
    """Rebuild the search index beside the catalog (in the caller's transaction)."""
    conn.execute(delete(t.catalog_grams))
    rows = index_rows(services)
    if rows:
        conn.execute(insert(t.catalog_grams), rows)
    if conn.dialect.name == "sqlite":
        conn.execute(text("DELETE FROM catalog_fts"))
        if services:
            conn.execute(
                text(
                    "INSERT INTO catalog_fts (key, name, keywords, category, description) "
                    "VALUES (:key, :name, :keywords, :category, :description)"
                ),
                [
                    {
                        "key": s.key,
                        "name": s.name,
                        "keywords": " ".join(s.keywords),
                        "category": s.category,
                        "description": s.description,
                    }
                    for s in services
                ],
            )


def _fts_sqlite(conn: Connection, terms: list[str]) -> dict[str, float]:
    query = " OR ".join(f'"{w}"*' for w in terms)
    rows = conn.execute(
        text(
            "SELECT key, bm25(catalog_fts, 0.0, 10.0, 8.0, 3.0, 1.0) AS rank FROM catalog_fts "
            "WHERE catalog_fts MATCH :q ORDER BY rank LIMIT :n"
        ),
        {"q": query, "n": CANDIDATES},
    ).all()
    if not rows:
        return {}
    best = min(r.rank for r in rows) or -1.0
    return {r.key: (r.rank / best if best else 0.0) for r in rows}


def _fts_postgres(conn: Connection, terms: list[str]) -> dict[str, float]:
    vector = (
        "setweight(to_tsvector('english', coalesce(name, '') || ' ' || coalesce(keywords, '')), 'A') || "
        "setweight(to_tsvector('english', coalesce(category, '')), 'B') || "
        "setweight(to_tsvector('english', coalesce(description, '')), 'C')"
    )
    query = " | ".join(f"{re.sub(r'[^a-z0-9]', '', w)}:*" for w in terms if re.sub(r"[^a-z0-9]", "", w))
    if not query:
        return {}
    rows = conn.execute(
        text(
            f"SELECT key, ts_rank('{{0.1, 0.2, 0.4, 1.0}}', {vector}, q) AS rank "
            f"FROM services, to_tsquery('english', :q) q WHERE {vector} @@ q ORDER BY rank DESC LIMIT :n"
        ),
        {"q": query, "n": CANDIDATES},
    ).all()
    if not rows:
        return {}
    best = max(r.rank for r in rows) or 1.0
    return {r.key: r.rank / best for r in rows}


def _similar(conn: Connection, terms: list[str]) -> dict[str, float]:
    """Share of the query's trigrams found in a service's name and keywords (0..1)."""
    grams: set[str] = set()
    for w in terms:
        grams |= trigrams(w)
    if not grams:
        return {}
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(
                "SELECT key, word_similarity(:q, lower(name || ' ' || keywords)) AS score FROM services "
                "WHERE :q <% lower(name || ' ' || keywords) ORDER BY score DESC LIMIT :n"
            ),
            {"q": " ".join(terms), "n": CANDIDATES},
        ).all()
        return {r.key: float(r.score) for r in rows}
    q = (
        select(t.catalog_grams.c.key, func.sum(t.catalog_grams.c.weight).label("score"))
        .where(t.catalog_grams.c.gram.in_(bindparam("grams", expanding=True)))
        .group_by(t.catalog_grams.c.key)
        .order_by(func.sum(t.catalog_grams.c.weight).desc())
        .limit(CANDIDATES)
    )
    rows = conn.execute(q, {"grams": sorted(grams)}).all()
    return {r.key: float(r.score) / len(grams) for r in rows}


def search(conn: Connection, services: Mapping[str, Service], query: str, limit: int = 10) -> list[Hit]:
    """Services matching ``query``, best first."""
    terms = [w for w in words(query) if len(w) >= 2][:12]
    if not terms:
        return []
    fts = _fts_postgres(conn, terms) if conn.dialect.name == "postgresql" else _fts_sqlite(conn, terms)
    similar = _similar(conn, terms)
    phrase = " ".join(terms)
    hits: list[Hit] = []
    for key in set(fts) | set(similar):
        s = services.get(key)
        if s is None:
            continue
        name_words = set(words(s.name)) | {s.key.casefold()}
        keyword_words = {w for k in s.keywords for w in words(k)}
        keyword_phrases = {k.casefold() for k in s.keywords}
        score = fts.get(key, 0.0) + 1.5 * similar.get(key, 0.0)
        matched = "text" if key in fts else "similar"
        if phrase == s.name.casefold() or phrase == s.key.casefold() or any(_starts(w, name_words) for w in terms):
            score += 3.0
            matched = "name"
        elif phrase in keyword_phrases or any(_starts(w, keyword_words) for w in terms):
            score += 2.5
            matched = "keyword"
        elif key not in fts and similar.get(key, 0.0) < 0.45:
            continue  # a weak trigram overlap alone is noise
        hits.append(Hit(service=s, score=score, matched=matched))
    hits.sort(key=lambda h: (-h.score, h.service.name))
    return hits[:limit]


def _starts(term: str, candidates: set[str]) -> bool:
    """``term`` is one of the words, or a stem of one ("expense" for "expenses") and vice versa."""
    if term in candidates:
        return True
    if len(term) < 4:
        return False
    return any(c.startswith(term) or (len(c) >= 4 and term.startswith(c)) for c in candidates)
