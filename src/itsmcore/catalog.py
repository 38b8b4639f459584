"""Catalog search: what the customer typed, best match first, tolerant of typos and word forms.

The index lives in the database and the query runs there: SQLite's FTS5 (porter
stemming, so "expenses" finds "expense") and PostgreSQL's weighted tsvector for
words. For typos ("expensatorn") SQLite corrects each unknown word to the closest
words of the catalog's vocabulary by trigram similarity, then searches those;
PostgreSQL uses ``pg_trgm``. Only the few candidates come back to Python, to be ranked so that a
service whose name or keyword matches comes first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import Connection, delete, insert, text

from .model import Service
from .store import tables as t

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
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


@attrs.frozen
class ServiceWords:
    """A service's words as ranking compares them, worked out once per catalog rather than per query."""

    name: frozenset[str]
    keywords: frozenset[str]
    keyword_phrases: frozenset[str]
    findable: frozenset[str]  # name, key and keywords: what a corrected word is looked for in


def service_words(services: Iterable[Service]) -> dict[str, ServiceWords]:
    """:class:`ServiceWords` by service key (the desk keeps it for as long as its catalog)."""
    return {s.key: _service_words(s) for s in services}


def _service_words(s: Service) -> ServiceWords:
    return ServiceWords(
        name=frozenset(words(s.name)) | {s.key.casefold()},
        keywords=frozenset(w for k in s.keywords for w in words(k)),
        keyword_phrases=frozenset(k.casefold() for k in s.keywords),
        findable=frozenset(words(f"{s.name} {s.key} {' '.join(s.keywords)}")),
    )


def vocabulary(services: Iterable[Service]) -> set[str]:
    """Every word a customer might type for these services (what typos are corrected to)."""
    vocab: set[str] = set()
    for s in services:
        for text_ in (s.name, s.key, s.category, s.description, *s.keywords):
            vocab.update(w for w in words(text_) if 3 <= len(w) <= 64 and not w.isdigit())
    return vocab


def rebuild(conn: Connection, services: Sequence[Service]) -> None:
    """Rebuild the search index beside the catalog (in the caller's transaction)."""
    conn.execute(delete(t.catalog_grams))
    conn.execute(delete(t.catalog_words))
    if conn.dialect.name != "sqlite":
        return  # PostgreSQL indexes the services table itself (tsvector and pg_trgm)
    vocab = sorted(vocabulary(services))
    if vocab:
        conn.execute(insert(t.catalog_words), [{"word": w, "grams": len(trigrams(w))} for w in vocab])
        conn.execute(insert(t.catalog_grams), [{"gram": g, "word": w} for w in vocab for g in trigrams(w)])
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


_KNOWN = text("SELECT 1 FROM catalog_words WHERE word >= :w AND word < :end LIMIT 1")
_CLOSEST = text(
    "SELECT g.word, count(*) * 1.0 / (w.grams + :n - count(*)) AS sim "
    "FROM catalog_grams g JOIN catalog_words w ON w.word = g.word "
    "WHERE g.gram IN (SELECT value FROM json_each(:grams)) "
    "GROUP BY g.word, w.grams ORDER BY sim DESC LIMIT 3"
)
MIN_SIMILARITY = 0.3
_FTS_SQLITE = text(
    "SELECT key, bm25(catalog_fts, 0.0, 10.0, 8.0, 3.0, 1.0) AS rank FROM catalog_fts "
    "WHERE catalog_fts MATCH :q ORDER BY rank LIMIT :n"
)


def _corrections(conn: Connection, terms: list[str]) -> dict[str, float]:
    """For each term the catalog does not know (even as a prefix), its closest words and their similarity.

    Trigram similarity as pg_trgm defines it (shared / union), computed against the
    vocabulary rather than every service, so a common trigram costs a few hundred rows.
    """
    out: dict[str, float] = {}
    for term in terms:
        if conn.execute(_KNOWN, {"w": term, "end": term + "\U0010ffff"}).first() is not None:
            continue
        grams = sorted(trigrams(term))
        for row in conn.execute(_CLOSEST, {"grams": json.dumps(grams), "n": len(grams)}):
            if row.sim >= MIN_SIMILARITY and row.word not in out:
                out[row.word] = float(row.sim)
    return out


def _fts_sqlite(conn: Connection, terms: list[str], enough: int = 10) -> dict[str, float]:
    """Services having every word first; any word only when that finds fewer than ``enough``.

    Ranking every service that has any one common word is what makes a search slow;
    those having all the words are the better answers anyway.
    """
    rows: Sequence[Any] = ()
    if len(terms) > 1:
        rows = conn.execute(_FTS_SQLITE, {"q": " ".join(f'"{w}"*' for w in terms), "n": CANDIDATES}).all()
    if len(rows) < enough:
        rows = conn.execute(_FTS_SQLITE, {"q": " OR ".join(f'"{w}"*' for w in terms), "n": CANDIDATES}).all()
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


def _similar_postgres(conn: Connection, terms: list[str]) -> dict[str, float]:
    """pg_trgm's word similarity of the query to each service's name and keywords (0..1)."""
    rows = conn.execute(
        text(
            "SELECT key, word_similarity(:q, lower(name || ' ' || keywords)) AS score FROM services "
            "WHERE :q <% lower(name || ' ' || keywords) ORDER BY score DESC LIMIT :n"
        ),
        {"q": " ".join(terms), "n": CANDIDATES},
    ).all()
    return {r.key: float(r.score) for r in rows}


def search(
    conn: Connection,
    services: Mapping[str, Service],
    query: str,
    limit: int = 10,
    *,
    words_of: Mapping[str, ServiceWords] | None = None,
) -> list[Hit]:
    """Services matching ``query``, best first; ``words_of`` (from :func:`service_words`) saves re-splitting names."""

    def sw(s: Service) -> ServiceWords:
        known = words_of.get(s.key) if words_of is not None else None
        return known if known is not None else _service_words(s)

    terms = [w for w in words(query) if len(w) >= 2][:12]
    if not terms:
        return []
    if conn.dialect.name == "postgresql":
        fts = _fts_postgres(conn, terms)
        similar = _similar_postgres(conn, terms)
        corrected = terms
    else:
        corrections = _corrections(conn, terms)
        corrected = terms + list(corrections)
        fts = _fts_sqlite(conn, corrected)
        # A service found only through a corrected word is as similar as the correction.
        similar = {}
        if corrections:
            for key in fts:
                s = services.get(key)
                if s is not None:
                    found = sw(s).findable & corrections.keys()
                    if found:
                        similar[key] = max(corrections[w] for w in found)
    phrase = " ".join(terms)
    hits: list[Hit] = []
    for key in set(fts) | set(similar):
        s = services.get(key)
        if s is None:
            continue
        known = sw(s)
        name_words, keyword_words, keyword_phrases = known.name, known.keywords, known.keyword_phrases
        score = fts.get(key, 0.0) + 1.5 * similar.get(key, 0.0)
        matched = "similar" if key in similar and not set(terms) & (name_words | keyword_words) else "text"
        if phrase == s.name.casefold() or phrase == s.key.casefold() or any(_starts(w, name_words) for w in corrected):
            score += 3.0
            matched = "name" if matched != "similar" else matched
        elif phrase in keyword_phrases or any(_starts(w, keyword_words) for w in corrected):
            score += 2.5
            matched = "keyword" if matched != "similar" else matched
        elif key not in fts and similar.get(key, 0.0) < 0.45:
            continue  # a weak trigram overlap alone is noise
        hits.append(Hit(service=s, score=score, matched=matched))
    hits.sort(key=lambda h: (-h.score, h.service.name))
    return hits[:limit]


def _starts(term: str, candidates: frozenset[str]) -> bool:
    """``term`` is one of the words, or a stem of one ("expense" for "expenses") and vice versa."""
    if term in candidates:
        return True
    if len(term) < 4:
        return False
    return any(c.startswith(term) or (len(c) >= 4 and term.startswith(c)) for c in candidates)
