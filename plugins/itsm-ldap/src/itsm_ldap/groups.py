"""Group membership, direct and nested, turned into the group names eligibility rules match.

Two ways to find groups of groups:

* ``ad``: Active Directory's in-chain matching rule (``member:1.2.840.113556.1.4.1941:=DN``)
  returns every group a DN belongs to, however deep, in one query. Other servers do
  not know the rule and answer nothing.
* ``walk``: ask for the groups whose ``member`` is each group found so far, level by
  level, up to a depth limit, never visiting a group twice (cycles happen: A in B in A).
  Works on any server; parents are remembered for a while, so listing many customers
  asks about each group once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from ldap3.utils.conv import escape_filter_chars  # type: ignore[import-untyped,unused-ignore]
from ldap3.utils.dn import parse_dn  # type: ignore[import-untyped,unused-ignore]

log = logging.getLogger(__name__)

IN_CHAIN = "1.2.840.113556.1.4.1941"
#: Up to this many uncached groups of one level are asked about one by one (and remembered); more are
#: asked about in OR-ed batches of BATCH, so an entry in 5,000 groups costs tens of searches, not thousands.
ONE_BY_ONE = 8
BATCH = 100
HEX = frozenset("0123456789abcdefABCDEF")

#: ``search(base, filter)`` -> the DNs of matching entries.
DnSearch = Callable[[str, str], list[str]]


def normalize_dn(dn: str) -> str:
    """A DN in a form fit for comparison: attribute types and values lower-cased, no stray spaces."""
    try:
        return ",".join(f"{attr.strip().lower()}={value.strip().lower()}" for attr, value, _sep in parse_dn(dn))
    except Exception:  # an unparsable DN still compares with itself
        return dn.strip().lower()


def is_under(dn: str, base: str) -> bool:
    """Whether ``dn`` is ``base`` or lies below it."""
    d, b = normalize_dn(dn), normalize_dn(base)
    return d == b or d.endswith("," + b)


def _unescape(value: str) -> str:
    """Undo RFC 4514 escapes in an RDN value: ``\\,`` -> ``,`` and ``\\C3\\A9`` -> ``é``."""
    out = bytearray()
    i = 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            pair = value[i + 1 : i + 3]
            if len(pair) == 2 and all(c in HEX for c in pair):
                out.append(int(pair, 16))
                i += 3
            else:
                out += value[i + 1].encode()
                i += 2
        else:
            out += value[i].encode()
            i += 1
    return out.decode("utf-8", errors="replace")


def group_name(dn: str) -> str:
    """The value of a group DN's first RDN: ``cn=sales,ou=groups,...`` -> ``sales``."""
    try:
        first = parse_dn(dn)[0]
    except Exception:
        return dn
    return _unescape(first[1])


class ParentCache:
    """Parent group DNs by normalized child DN, forgotten after ``ttl`` seconds."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._data: dict[str, tuple[float, tuple[str, ...]]] = {}

    def get(self, key: str) -> tuple[str, ...] | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None or hit[0] < self._clock():
                return None
            return hit[1]

    def put(self, key: str, parents: Sequence[str]) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            self._data[key] = (self._clock() + self._ttl, tuple(parents))

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class GroupResolver:
    """Finds the names of the groups one entry belongs to, directly and (per ``mode``) through nesting."""

    def __init__(
        self,
        *,
        search_base: str,
        group_base_dn: str | None,
        group_filter: str,
        member_attribute: str,
        mode: str,
        depth: int,
        cache: ParentCache,
        label: str = "directory",
    ):
        self.search_base = group_base_dn or search_base
        self.group_base_dn = group_base_dn
        self.group_filter = group_filter
        self.member_attribute = member_attribute
        self.mode = mode
        self.depth = depth
        self.cache = cache
        self.label = label

    def _member_filter(self, dn: str, rule: str = "") -> str:
        attr = f"{self.member_attribute}:{rule}:" if rule else self.member_attribute
        return f"(&{self.group_filter}({attr}={escape_filter_chars(dn)}))"

    def direct(self, search: DnSearch, entry_dn: str, listed: Iterable[str] | None) -> list[str]:
        """Direct group DNs: those the entry lists (memberOf), or those listing the entry as a member."""
        dns = list(listed) if listed is not None else search(self.search_base, self._member_filter(entry_dn))
        if self.group_base_dn:
            dns = [d for d in dns if is_under(d, self.group_base_dn)]
        return dns

    def names(self, search: DnSearch, entry_dn: str, listed: Iterable[str] | None) -> tuple[str, ...]:
        """Sorted, unique group names of ``entry_dn``, nested ones included unless the mode is ``off``."""
        dns = self.direct(search, entry_dn, listed)
        if self.mode == "ad":
            dns += search(self.search_base, self._member_filter(entry_dn, IN_CHAIN))
        elif self.mode == "walk":
            dns = self._walk(search, entry_dn, dns)
        return tuple(sorted({group_name(d) for d in dns}, key=lambda n: (n.casefold(), n)))

    def _parents(self, search: DnSearch, child: str) -> tuple[str, ...]:
        key = normalize_dn(child)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        parents = tuple(search(self.search_base, self._member_filter(child)))
        self.cache.put(key, parents)
        return parents

    def _walk(self, search: DnSearch, entry_dn: str, direct: list[str]) -> list[str]:
        seen: dict[str, str] = {normalize_dn(entry_dn): entry_dn}
        found: list[str] = []
        frontier: list[str] = []
        for dn in direct:
            key = normalize_dn(dn)
            if key not in seen:
                seen[key] = dn
                found.append(dn)
                frontier.append(dn)
        level = 0
        while frontier:
            if level >= self.depth:
                log.warning(
                    "%s: group nesting of %s goes deeper than nested_depth=%d; groups beyond it are ignored",
                    self.label,
                    entry_dn,
                    self.depth,
                )
                break
            level += 1
            next_frontier: list[str] = []
            for parent in self._level_parents(search, frontier):
                key = normalize_dn(parent)
                if key in seen:
                    continue  # visited already: a cycle or a diamond
                seen[key] = parent
                found.append(parent)
                next_frontier.append(parent)
            frontier = next_frontier
        return found

    def _level_parents(self, search: DnSearch, children: list[str]) -> list[str]:
        """The parent groups of every group in ``children``: remembered ones, then one by one or in batches."""
        out: list[str] = []
        unknown: list[str] = []
        for child in children:
            hit = self.cache.get(normalize_dn(child))
            if hit is None:
                unknown.append(child)
            else:
                out.extend(hit)
        if len(unknown) <= ONE_BY_ONE:
            for child in unknown:
                out.extend(self._parents(search, child))
            return out
        for i in range(0, len(unknown), BATCH):
            chunk = unknown[i : i + BATCH]
            members = "".join(f"({self.member_attribute}={escape_filter_chars(dn)})" for dn in chunk)
            out.extend(search(self.search_base, f"(&{self.group_filter}(|{members}))"))
        return out
