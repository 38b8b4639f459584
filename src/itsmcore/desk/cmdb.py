"""The CMDB: relationships between configuration items, and what an outage of one affects.

Relationships are declared in the config (``[[relationships]]``), in a CSV or TOML file
that ``[cmdb] relationships`` names, and by plugins (``itsm_relationships``). The desk
keeps them in the ``ci_relationships`` table: it loads them when it opens if their
fingerprint changed since the last load, and on ``itsm ci sync``; a set with any problem
is refused whole (``ConfigError``) and the rows loaded before stay.

An impact walk goes breadth first, one query a level (SQLite and PostgreSQL): from the
failing item along every ``runs_on``/``depends_on``/``connects_to`` relationship that
points at it, up to a depth limit, each item expanded once; a path that comes back to an
item already on it stops there and the walk names the items on that cycle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ARRAY, ColumnElement, Connection, Text, any_, bindparam, delete, func, insert, select

from ..errors import InvalidInput, NotFound
from ..model import Announcement, ConfigurationItem, Impact, ImpactedItem, Link, Relationship, RelationshipType
from ..relationships import cmdb_settings, digest, read_relationships
from ..store import tables as t
from .context import Context

if TYPE_CHECKING:
    from ..deployment import Deployment
    from ..plugins import ErrorHandler
    from .demands import Demands
    from .outages import Outages
    from .subscriptions import Subscriptions

REL = t.ci_relationships
SYNC_NAME = "relationships"


def _among(column: ColumnElement[str], dialect: str) -> ColumnElement[bool]:
    """``column`` is one of the ids bound as ``ids``: one JSON list on SQLite, one array on PostgreSQL
    (no statement per item, no limit on bound variables)."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(Text)))
    return column.in_(select(func.json_each(bindparam("ids", type_=Text)).table_valued("value").c.value))


_DIALECTS = ("sqlite", "postgresql")
#: One level of the walk: the relationships pointing at the items reached last.
_LEVEL = {d: select(REL.c.ci, REL.c.target).where(_among(REL.c.target, d)) for d in _DIALECTS}
_SERVICES = {
    d: select(REL.c.service).distinct().where(_among(REL.c.ci, d), REL.c.service.is_not(None)) for d in _DIALECTS
}


def _ids(dialect: str, ids: Sequence[str]) -> Any:
    return list(ids) if dialect == "postgresql" else json.dumps(list(ids))


def walk(conn: Connection, ci: str, depth: int) -> tuple[list[tuple[str, int]], list[str], list[str]]:
    """The items (with their depth, nearest first), services and cycle items an outage of ``ci`` reaches.

    Breadth first, one query a level: each item is expanded once, at the smallest depth it
    is reached at, so a graph where many paths lead to the same items costs what its items
    cost, not what its paths do. The cycles are the items on a cycle among the
    relationships the walk followed (a path that comes back to an item already on it).
    (One recursive query instead was measured slower on both databases: it expands an item
    once for every depth it is reached at; see ``bench/cmdb_impact.py``.)
    """
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    level, services_of = _LEVEL[dialect], _SERVICES[dialect]
    reached: dict[str, int] = {ci: 0}
    followed: dict[str, list[str]] = {}  # item -> the items that run on, depend on or connect to it
    levels = [[ci]]
    frontier = [ci]
    for d in range(1, depth + 1):
        if not frontier:
            break
        nxt: list[str] = []
        # the driver's own tuples: a wide walk reads tens of thousands of rows, and wrapping each
        # (as .tuples().all() does) costs a third more on the bench's 14,000-item walk
        for other, target in conn.execute(level, {"ids": _ids(dialect, frontier)}).cursor.fetchall():
            followed.setdefault(target, []).append(other)
            if other not in reached:
                reached[other] = d
                nxt.append(other)
        frontier = nxt
        levels.append(nxt)
    services = conn.execute(services_of, {"ids": _ids(dialect, list(reached))}).scalars().all()
    items = [(item, d) for d, found in enumerate(levels) for item in sorted(found)]
    return items, sorted(services), sorted(on_cycles(followed))


def on_cycles(graph: Mapping[str, Sequence[str]]) -> set[str]:
    """The nodes of ``graph`` (node -> successors) that lie on a cycle: Tarjan's strongly connected
    components, iteratively (a long chain must not exhaust Python's stack)."""
    # a node without successors lies on no cycle, nor does an edge to one: most of a wide walk's
    # items are its last level's, reached and never expanded, and need no search
    graph = {node: [n for n in succ if n in graph] for node, succ in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: set[str] = set()
    empty: Sequence[str] = ()
    for root in graph:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph.get(root, empty)))]
        while work:
            node, succ = work[-1]
            for nxt in succ:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph.get(nxt, empty))))
                    break
                if nxt in on_stack and index[nxt] < low[node]:
                    low[node] = index[nxt]
            else:
                work.pop()
                if work:  # back in the parent: carry the child's low link up
                    parent = work[-1][0]
                    if low[node] < low[parent]:
                        low[parent] = low[node]
                if low[node] == index[node]:
                    top = stack.pop()
                    on_stack.discard(top)
                    if top != node:
                        out.add(top)
                        while top != node:
                            top = stack.pop()
                            on_stack.discard(top)
                            out.add(top)
                    elif node in graph.get(node, empty):
                        out.add(node)
    return out


class Cmdb:
    """Relationships in the store, impact walks and announcements on a configuration item."""

    def __init__(self, ctx: Context, subscriptions: Subscriptions, demands: Demands, outages: Outages):
        self.ctx = ctx
        self.subscriptions = subscriptions
        self.demands = demands
        self.outages = outages
        self.settings = cmdb_settings(ctx.config.extra, str(ctx.config.path))
        self._items: dict[str, ConfigurationItem] | None = None

    def items(self) -> Mapping[str, ConfigurationItem]:
        """Every configuration item the directories know, by id."""
        if self._items is None:
            self._items = dict(all_items(self.ctx.deployment.directories()))
        return self._items

    def item(self, ci: str) -> ConfigurationItem:
        found = self.items().get(ci)
        if found is None:
            from ..structuring import did_you_mean

            raise NotFound(f"no configuration item {ci!r}; {did_you_mean(ci, self.items())}")
        return found

    def has_sources(self) -> bool:
        """Whether the config, a relationship file or a plugin declares relationships."""
        hook = getattr(self.ctx.host.pm.hook, "itsm_relationships", None)
        return bool(
            self.ctx.config.extra.get("relationships")
            or self.settings.relationships
            or (hook is not None and hook.get_hookimpls())
        )

    def declared(self) -> list[Relationship]:
        """Every relationship the sources declare now, checked (ConfigError otherwise)."""
        return declared_relationships(self.ctx.deployment, self.ctx.on_error(None), items=self.items())

    def sync(self, *, force: bool = False) -> int | None:
        """Load the declared relationships into the store if they changed (or ``force``): how many, else ``None``."""
        if not self.has_sources():
            with self.ctx.engine.begin() as conn:
                if conn.execute(select(t.cmdb_sync.c.name)).first() is None:
                    return None  # nothing declared, nothing loaded: no directory is walked
        rels = self.declared() if self.has_sources() else []
        fingerprint = digest(rels)
        with self.ctx.engine.begin() as conn:
            stored = conn.execute(select(t.cmdb_sync.c.digest).where(t.cmdb_sync.c.name == SYNC_NAME)).scalar()
            if stored == fingerprint and not force:
                return None
            conn.execute(delete(REL))
            rows = []
            for r in rels:
                row = {"ci": r.ci, "type": str(r.type), "target": r.target, "service": r.service, "origin": r.origin}
                rows.append({**row, "mirrored": False})
                if r.type == RelationshipType.CONNECTS_TO:
                    rows.append({**row, "ci": r.target, "target": r.ci, "mirrored": True})
            if rows:
                conn.execute(insert(REL), rows)
            conn.execute(delete(t.cmdb_sync).where(t.cmdb_sync.c.name == SYNC_NAME))
            conn.execute(
                insert(t.cmdb_sync).values(
                    name=SYNC_NAME, digest=fingerprint, count=len(rels), synced_at=self.ctx.clock()
                )
            )
        return len(rels)

    def relationships(self, ci: str | None = None) -> list[Relationship]:
        """The stored relationships (of one item, either end), as declared."""
        q = select(REL).where(REL.c.mirrored.is_(False)).order_by(REL.c.id)
        if ci is not None:
            q = q.where((REL.c.ci == ci) | (REL.c.target == ci))
        with self.ctx.engine.connect() as conn:
            return [
                Relationship(ci=r.ci, type=r.type, target=r.target, service=r.service, origin=r.origin)
                for r in conn.execute(q)
            ]

    def impact(self, ci: str, depth: int | None = None) -> Impact:
        """What an outage of ``ci`` affects: items, services, their subscribers and open demands."""
        item = self.item(ci)
        limit = depth if depth is not None else self.settings.depth
        if limit < 1:
            raise InvalidInput(f"the depth must be at least 1, got {limit}")
        with self.ctx.engine.connect() as conn:
            reached, services, cycles = walk(conn, ci, limit)
        names = self.items()
        items = [ImpactedItem(ci=c, depth=d, name=names[c].name if c in names else "") for c, d in reached]
        # an item's own ``service`` attribute ties it to a service as ``provides`` would
        known = set(services)
        for c, _d in reached:
            own = names.get(c, item if c == ci else None)
            key = own.attributes.get("service") if own else None
            if key and key in self.ctx.services:
                known.add(key)
        affected = sorted(known)
        subscribers: set[str] = set()
        open_demands: set[int] = set()
        for key in affected:
            self.subscriptions.sync_derived(key)
            subscribers.update(self.subscriptions.subscribers(key))
            open_demands.update(d.id for d in self.demands.listing(service=key, open_only=True, limit=10_000))
        return Impact(
            ci=ci,
            depth=limit,
            items=tuple(items),
            services=tuple(affected),
            subscribers=tuple(sorted(subscribers)),
            open_demands=tuple(sorted(open_demands)),
            cycles=tuple(cycles),
        )

    def announce(
        self,
        ci: str,
        title: str,
        *,
        description: str = "",
        workaround: str = "",
        links: Iterable[Link] = (),
        estimate: str = "",
        source: str = "agent",
        depth: int | None = None,
    ) -> list[Announcement]:
        """Open an announcement on every service an outage of ``ci`` affects; each reaches that service's subscribers."""
        links = tuple(links)  # given to each service's announcement: an iterator would reach only the first
        found = self.impact(ci, depth)
        if not found.services:
            raise InvalidInput(
                f"an outage of {ci!r} affects no service: nothing to announce; "
                'relate it to a service (type = "provides") or announce on the service itself'
            )
        return [
            self.outages.open(
                key,
                title,
                description=description,
                workaround=workaround,
                links=links,
                estimate=estimate,
                source=source,
            )
            for key in found.services
        ]


def declared_relationships(
    deployment: Deployment, on_error: ErrorHandler, *, items: Mapping[str, ConfigurationItem] | None = None
) -> list[Relationship]:
    """The relationships a deployment's config, relationship file and plugins declare, checked.

    ``itsm check`` and the desk both use it; raises ConfigError naming every problem.
    """
    cfg = deployment.config
    return read_relationships(
        config_file=str(cfg.path),
        base_dir=cfg.base_dir,
        extra=cfg.extra,
        items=items if items is not None else dict(all_items(deployment.directories())),
        services=[s.key for s in cfg.services],
        from_plugins=deployment.host.collect("itsm_relationships", on_error),
    )


def all_items(backends: Iterable[Any]) -> Iterable[tuple[str, ConfigurationItem]]:
    """Every configuration item of these directory backends, first backend first.

    A backend with ``all_configuration_items()`` answers at once; otherwise each customer's
    items are asked for, and those of nobody (``configuration_items("")``).
    """
    seen: set[str] = set()
    for b in backends:
        every = getattr(b, "all_configuration_items", None)
        if every is not None:
            found: Iterable[ConfigurationItem] = every()
        else:
            found = [ci for c in b.list_customers() for ci in b.configuration_items(c.id)]
            found += list(b.configuration_items(""))
        for ci in found:
            if ci.id not in seen:
                seen.add(ci.id)
                yield ci.id, ci


class CmdbDesk:
    """The desk's CMDB calls, part of the :class:`~itsmcore.desk.Desk` facade."""

    _cmdb: Cmdb

    def sync_relationships(self, *, force: bool = False) -> int | None:
        """Reload the relationships from their sources if they changed (or ``force``): how many, else ``None``."""
        return self._cmdb.sync(force=force)

    def relationships(self, ci: str | None = None) -> list[Relationship]:
        """The relationships in the store, of one configuration item (either end) or all."""
        return self._cmdb.relationships(ci)

    def configuration_item(self, ci: str) -> ConfigurationItem:
        """A configuration item of any directory; NotFound with a close match otherwise."""
        return self._cmdb.item(ci)

    def ci_impact(self, ci: str, depth: int | None = None) -> Impact:
        """What an outage of ``ci`` affects: items, services, subscribers and open demands (``[cmdb] depth``)."""
        return self._cmdb.impact(ci, depth)

    def open_ci_announcement(
        self,
        ci: str,
        title: str,
        *,
        description: str = "",
        workaround: str = "",
        links: Sequence[Link] = (),
        estimate: str = "",
        source: str = "agent",
    ) -> list[Announcement]:
        """Announce an outage of a configuration item on every service it affects, to their subscribers."""
        return self._cmdb.announce(
            ci, title, description=description, workaround=workaround, links=links, estimate=estimate, source=source
        )
