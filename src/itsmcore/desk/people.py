"""People at the desk: who an agent is (for the journey's record of who did what) and finding a customer by typing.

An agent is a person the deployment's directories know; :meth:`People.identify` turns a
login into the :class:`~itsmcore.model.Identity` recorded on their journey events.

The customer search answers an agent typing part of a name, a login, an email address or a
phone number, over directories of any size: the customers are copied into two tables
(:meth:`People.index`), one row each for the pick list and one row per search term, and a
search is a range scan of the terms' primary key per word typed. Terms and searches are
folded the same way (lower case, accents removed: "José" is found by "jose" and "JOSÉ") in
Python, so the result is the same on SQLite and PostgreSQL whatever their collation, and
nothing typed is a wildcard (``%`` and ``_`` are not letters or digits, so they separate
words like spaces).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, tuple_

from ..errors import InvalidInput, NotFound
from ..model import Customer, CustomerMatch, Identity, ServiceClock
from ..store import rows
from ..store import tables as t
from .context import Context
from .customers import Customers

#: The longest search text taken (longer is refused, saying so).
MAX_SEARCH = 200
#: The fewest letters or digits a search needs (one letter would match a tenth of everyone).
MIN_SEARCH = 2
#: The most results a search returns.
MAX_RESULTS = 50
#: A term is kept to this many characters (the column's width); longer words match by their start.
TERM_WIDTH = 64
#: The shortest tail of a phone number's digits that is a term ("the last four digits").
PHONE_TAIL = 4

_SPLIT = re.compile(r"[\W_]+")
_TOP = "\U0010ffff"  # sorts after every character: [w, w + _TOP) is every term starting with w
_BATCH = 5000
_PAGE = 500  # terms read at a time while other words typed are checked
_TI = t.customer_index.c
_TT = t.customer_terms.c


def fold(text: str) -> str:
    """Lower case without accents: "José Müller" -> "jose muller" (compatibility forms unified too)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def words(text: str) -> list[str]:
    """The folded words of ``text``: runs of letters and digits, each at most :data:`TERM_WIDTH` long."""
    return [w[:TERM_WIDTH] for w in _SPLIT.split(fold(text)) if w]


def terms(customer: Customer) -> set[str]:
    """What finds ``customer``: the words of their name, login and email, the whole login and
    email, and their phone number's digits with each trailing part of at least four digits."""
    out: set[str] = set()
    for text in (customer.name, customer.id, customer.email or ""):
        out.update(words(text))
    for whole in (customer.id, customer.email or ""):
        folded = fold(whole).strip()
        if folded:
            out.add(folded[:TERM_WIDTH])
    digits = "".join(ch for ch in (customer.mobile or "") if ch.isdigit())
    for start in range(max(0, len(digits) - PHONE_TAIL + 1)):
        out.add(digits[start:][:TERM_WIDTH])
    return out


def query_words(text: str) -> list[str]:
    """The words a search looks for: a phone number typed with spaces or dashes is one word of digits.

    Raises :class:`~itsmcore.errors.InvalidInput` for a text longer than :data:`MAX_SEARCH`
    characters or with fewer than :data:`MIN_SEARCH` letters or digits.
    """
    if len(text) > MAX_SEARCH:
        raise InvalidInput(f"the search text is {len(text)} characters long; type at most {MAX_SEARCH}")
    found = words(text)
    if found and not any(ch.isalpha() for ch in "".join(found)):
        found = ["".join(found)[:TERM_WIDTH]]  # +44 7700 900123 -> 447700900123
    if sum(len(w) for w in found) < MIN_SEARCH:
        raise InvalidInput(
            f"type at least {MIN_SEARCH} letters or digits of the customer's name, login, email or phone number"
        )
    # a word that is the start of another adds nothing: "jo john" looks for "john"
    return sorted({w for w in found if not any(o != w and o.startswith(w) for o in found)}, key=len, reverse=True)


def _match(row: object) -> CustomerMatch:
    return CustomerMatch(
        id=row.customer_id,  # type: ignore[attr-defined]
        name=row.name,  # type: ignore[attr-defined]
        email=row.email,  # type: ignore[attr-defined]
        phone=row.phone,  # type: ignore[attr-defined]
        role=row.role,  # type: ignore[attr-defined]
    )


class People:
    """Agents' identities and the customer search index."""

    def __init__(self, ctx: Context, customers: Customers):
        self.ctx = ctx
        self.customers = customers
        self._checked = False  # whether this process has compared the index with the directories

    # ------------------------------------------------------------------ agents

    def identify(self, who: str | Identity, *, known: bool = True) -> Identity:
        """The identity of the person with this login, named as the directory names them.

        ``known=True`` (a login someone typed) raises :class:`~itsmcore.errors.NotFound`
        for a login no directory knows, with the close matches; ``known=False`` (a login
        taken from the operating system) records it as it is, without a name.
        """
        if isinstance(who, Identity):
            return who
        login = who.strip()
        if not login:
            raise InvalidInput("no agent named: give the agent's login")
        try:
            person = self.customers.find(login)
        except Exception:  # the directory is down: a login taken as it is still names who acted
            if known:
                raise
            person = None
        if person is not None:
            return Identity(person.id, person.name)
        if not known:
            return Identity(login, "")
        close = self._close_logins(login)
        raise NotFound(
            f"unknown agent {login!r}: no directory knows this login"
            + (f"; did you mean {' or '.join(repr(x) for x in close)}?" if close else "")
            + " (see 'itsm customer search TEXT')"
        )

    def _close_logins(self, login: str) -> list[str]:
        try:
            found = [m.id for m in self.search(login[: MIN_SEARCH + 1], limit=MAX_RESULTS)] if len(login) >= 2 else []
        except InvalidInput:
            found = []
        return difflib.get_close_matches(login, found, n=3, cutoff=0.6)

    # ------------------------------------------------------------------ customer search

    def index(self) -> int:
        """Copy every customer of the directories into the search index, replacing what it held; returns the count."""
        now = self.ctx.clock()
        count = 0
        with self.ctx.engine.begin() as conn:
            conn.execute(delete(t.customer_terms))
            conn.execute(delete(t.customer_index))
            for batch in _batches(self.customers.directory.list_customers(), _BATCH):
                people, words_of = _rows(batch, now)
                conn.execute(insert(t.customer_index), people)
                if words_of:  # hundreds of thousands of two-column rows: straight to the driver
                    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
                    conn.exec_driver_sql(
                        f"INSERT INTO customer_terms (term, customer_id) VALUES ({mark}, {mark})", words_of
                    )
                count += len(people)
        self._checked = True
        return count

    def indexed(self) -> int:
        """How many customers the search index holds."""
        with self.ctx.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.customer_index)).scalar_one())

    def _ensure(self) -> None:
        """Once per process: (re)build the index when it holds a different number of customers than the directories."""
        if self._checked:
            return
        listed = sum(1 for _ in self.customers.directory.list_customers())
        if listed != self.indexed():
            self.index()
        self._checked = True

    def search(self, text: str, *, limit: int = 20) -> list[CustomerMatch]:
        """Customers whose name, login, email or phone has a word starting with each word typed.

        The longest word typed is looked up in the terms' index in its order (the matching
        word, then the login), a page at a time, until ``limit`` customers also match every
        other word or there are no more; the result is shown by name. At most ``limit``
        (1 to :data:`MAX_RESULTS`). Errors (:class:`~itsmcore.errors.InvalidInput`): fewer
        than two letters or digits, more than :data:`MAX_SEARCH` characters, a limit out of range.
        """
        if not 1 <= limit <= MAX_RESULTS:
            raise InvalidInput(f"limit must be between 1 and {MAX_RESULTS}, not {limit}")
        first, *others = query_words(text)
        self._ensure()
        page = limit * 4 if not others else _PAGE
        found: list[str] = []
        seen: set[str] = set()
        after: tuple[str, str] | None = None
        with self.ctx.engine.connect() as conn:
            while len(found) < limit:
                stmt = select(_TT.term, _TT.customer_id).where(_TT.term >= first, _TT.term < first + _TOP)
                if after is not None:
                    stmt = stmt.where(tuple_(_TT.term, _TT.customer_id) > tuple_(*after))
                rows_ = conn.execute(stmt.order_by(_TT.term, _TT.customer_id).limit(page)).all()
                if not rows_:
                    break
                after = (rows_[-1].term, rows_[-1].customer_id)
                fresh = [r.customer_id for r in rows_ if r.customer_id not in seen]
                seen.update(fresh)
                for w in others:  # keep those who also have a word starting with each other word
                    if not fresh:
                        break
                    keep = select(_TT.customer_id).where(_TT.customer_id.in_(fresh), _TT.term >= w, _TT.term < w + _TOP)
                    matched = set(conn.execute(keep).scalars())
                    fresh = [c for c in fresh if c in matched]
                found.extend(dict.fromkeys(fresh))
                if len(rows_) < page:
                    break
            found = found[:limit]
            if not found:
                return []
            people = conn.execute(
                select(_TI.customer_id, _TI.name, _TI.email, _TI.phone, _TI.role).where(_TI.customer_id.in_(found))
            ).all()
        return sorted((_match(r) for r in people), key=lambda m: (fold(m.name), m.id))

    # ------------------------------------------------------------------ service-level clocks

    def clocks(self, demand_id: int) -> list[ServiceClock]:
        """A demand's service-level clocks, response first, with the working time used until now."""
        c = t.service_level_clocks.c
        with self.ctx.engine.connect() as conn:
            found = list(conn.execute(select(t.service_level_clocks).where(c.demand_id == demand_id)))
        now = self.ctx.clock()
        out = []
        for row in sorted(found, key=lambda r: r.metric != "response"):
            used = float(row.elapsed)
            since = rows.aware(row.running_since)
            if row.state == "running" and since is not None:
                name = row.calendar if row.calendar in self.ctx.config.calendars else None
                used += self.ctx.calendar(name).between(since, now)
            out.append(
                ServiceClock(
                    metric=row.metric,
                    rule=row.rule,
                    state=row.state,
                    paused_for=row.paused_for,
                    target_secs=float(row.target_secs),
                    used_secs=used,
                    due_at=rows.aware(row.due_at),
                    breached_at=rows.aware(row.breached_at),
                    stopped_at=rows.aware(row.stopped_at),
                )
            )
        return out


def _batches(items: Iterable[Customer], size: int) -> Iterator[list[Customer]]:
    batch: list[Customer] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _rows(batch: Sequence[Customer], now: datetime) -> tuple[list[dict[str, object]], list[tuple[str, str]]]:
    people: list[dict[str, object]] = []
    found: list[tuple[str, str]] = []
    for c in batch:
        people.append(
            {
                "customer_id": c.id,
                "name": c.name[:256],
                "email": (c.email or "")[:320],
                "phone": (c.mobile or "")[:64],
                "role": (c.role or "")[:128],
                "indexed_at": now,
            }
        )
        found.extend((term, c.id) for term in terms(c))
    return people, found
