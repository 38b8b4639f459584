"""The journey rollup: one row per demand and stage, brought up to date from new journey events.

Reports call :func:`refresh` first; it reads only the events written since the last
refresh (by id), folds them into ``journey_stages`` with an upsert, and recomputes when
each touched demand left each stage. A report then reads the rollup through its
indexes: percentiles are an ``ORDER BY secs LIMIT 1 OFFSET k`` on (stage, secs).

On PostgreSQL, ids are not handed out in commit order: an event committed after a
refresh with an id below the mark would be missed, so the refresh leaves a margin of
recent ids to be read again next time and re-folds their demands from scratch.

The first refresh (an empty rollup, e.g. after an upgrade over years of events) builds
the tables in one pass instead: the events folded per demand and stage (SQLite: by an upsert
into a temporary table kept in stage order, each stage's leaving time read along it;
PostgreSQL: grouped, the leaving times by a window), the secondary indexes dropped while the
rows go in and built once at the end, all in the refresh's one transaction. On PostgreSQL,
:func:`settle` then vacuums the rollup.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, func, select, text

from ..model import Stage
from ..store import tables as t

NAME = "journey_stages"
#: On PostgreSQL, events this close to the newest id are read again next time (see above).
PG_MARGIN = 1000
#: PostgreSQL: the memory the first refresh may sort in (each sort of its statements, each index build),
#: and no JIT compilation: the planner, without statistics of the tables just filled, expects millions of
#: rows and would compile and optimise each statement's expressions for half a second.
BUILD_SETTINGS = {"work_mem": "128MB", "maintenance_work_mem": "256MB", "jit": "off"}
#: A fold of more events than this is a big one: statistics brought up to date at once (and see :func:`settle`).
BIG = 50_000
#: SQLite: the tables whose statistics a big fold brings up to date (those the reports read).
ANALYSED = ("journey_stages", "journey_totals", "journey_days", "demands", "survey_responses")
#: SQLite: the page caches a first build works in (KiB, as a negative ``cache_size``).
BUILD_CACHE_KIB = -131072
#: SQLite: at most this many helper threads sort for the first build's index builds, and the page
#: cache they sort beside (KiB, as a negative ``cache_size``): small, so that the sorts are split.
SORT_THREADS = 4
SORT_CACHE_KIB = -4096

_POS = "CASE stage " + " ".join(f"WHEN '{s}' THEN {s.position}" for s in Stage) + f" ELSE {len(Stage)} END"


def _quote(name: str) -> str:
    """A method name inside a SQL string literal (names come from the config, but still)."""
    return name.replace("'", "''")


def _epoch(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"extract(epoch from {column})"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


#: The UTC day (YYYY-MM-DD) a rollup row's demand was created, by dialect: journey_days' key.
_DAY = {"sqlite": "substr(created_at, 1, 10)", "postgresql": "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"}

#: The steps of a refresh, as :func:`refresh` reports them to its ``progress``.
STEPS = ("stages", "leaving times", "durations", "per demand", "per day", "statistics")


def refresh(
    conn: Connection,
    scales: Mapping[str, tuple[int, int]] | None = None,
    progress: Callable[[str], object] | None = None,
) -> int:
    """Fold journey events written since the last refresh into the rollup; returns how many were read.

    ``scales`` gives each survey method's (low, high), to keep every journey's survey
    score on one 0..1 scale; answers of other methods are left out of it. ``progress``
    is told the name of each of :data:`STEPS` as it ends (not called when nothing is new).
    """

    def done(name: str) -> None:
        if progress is not None:
            progress(name)

    def marks() -> tuple[int, int]:
        """The newest event id folded in, and the newest there is."""
        last = conn.execute(select(t.report_state.c.value).where(t.report_state.c.name == NAME)).scalar() or 0
        return int(last), int(conn.execute(select(func.max(t.journey_events.c.id))).scalar() or 0)

    dialect = conn.dialect.name
    if dialect == "postgresql":
        # two reports refreshing at once would fold the same events twice: one at a time
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('itsm.journey_stages'))"))
    last, top = marks()
    if top <= last:
        return 0
    if dialect == "sqlite":
        # the same one at a time: the write lock taken before the marks are read again (pysqlite begins
        # the transaction only before a write, so the reads above were each on their own), and with it
        # a build's index drops are undone with the rest should it fail
        conn.execute(text("DELETE FROM report_state WHERE 0 = 1"))
        last, top = marks()
        if top <= last:
            return 0
    if last == 0 and _empty(conn):
        _build(conn, dialect, _scaled(scales), top, done)
        _mark(conn, top)
        return int(top)
    start = last
    if dialect == "postgresql" and last:
        # re-fold every demand with an event in the margin, from all its events
        start = max(0, last - PG_MARGIN)
    touched = f"SELECT DISTINCT demand_id FROM journey_events WHERE id > {int(start)} AND id <= {int(top)}"
    if dialect == "postgresql":
        conn.execute(text(f"DELETE FROM journey_stages WHERE demand_id IN ({touched})"))
        window = f"e.demand_id IN ({touched})"
    else:
        window = f"e.id > {int(start)} AND e.id <= {int(top)}"
    at = _epoch(dialect, "e.at")
    first_channel = (
        # the channel of the stage's first event (SQLite picks the bare column from the MIN row)
        "e.channel" if dialect == "sqlite" else "(array_agg(e.channel ORDER BY e.at, e.id))[1]"
    )
    least = "min" if dialect == "sqlite" else "LEAST"
    conn.execute(
        text(
            f"""
            INSERT INTO journey_stages (demand_id, stage, pos, entered, channel, effort, touches,
                                        customer_actions, contacts, comments, kind, service_key, created_at)
            SELECT e.demand_id, e.stage, {_POS.replace("stage", "e.stage", 1)}, MIN({at}), {first_channel},
                   SUM(e.effort), COUNT(*),
                   SUM(CASE WHEN e.actor = 'customer' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN e.actor = 'customer' AND e.kind IN ('submitted', 'comment') THEN 1 ELSE 0 END),
                   SUM(CASE WHEN e.actor = 'customer' AND e.kind = 'comment' THEN 1 ELSE 0 END),
                   d.kind, d.service_key, d.created_at
            FROM journey_events e JOIN demands d ON d.id = e.demand_id
            WHERE {window}
            GROUP BY e.demand_id, e.stage, d.kind, d.service_key, d.created_at
            ON CONFLICT (demand_id, stage) DO UPDATE SET
                channel = CASE WHEN excluded.entered < journey_stages.entered
                               THEN excluded.channel ELSE journey_stages.channel END,
                entered = {least}(journey_stages.entered, excluded.entered),
                effort = journey_stages.effort + excluded.effort,
                touches = journey_stages.touches + excluded.touches,
                customer_actions = journey_stages.customer_actions + excluded.customer_actions,
                contacts = journey_stages.contacts + excluded.contacts,
                comments = journey_stages.comments + excluded.comments
            """
        )
    )
    done("stages")
    _leaving_times(conn, touched)
    done("leaving times")
    conn.execute(text(f"UPDATE journey_stages SET secs = left_at - entered WHERE demand_id IN ({touched})"))
    done("durations")
    # every journey of the touched demands' customers again: each is paired with the one before it
    customers = f"SELECT DISTINCT customer_id FROM demands WHERE id IN ({touched})"
    conn.execute(text(f"DELETE FROM journey_totals WHERE demand_id IN ({touched}) OR customer_id IN ({customers})"))
    _totals(conn, dialect, _scaled(scales), f"d.customer_id IN ({customers})")
    done("per demand")
    # the day buckets of every (day, service, kind) a touched demand belongs to, summed again
    day = _DAY[dialect]
    groups = (
        f"SELECT DISTINCT {day}, coalesce(service_key, ''), kind FROM journey_stages WHERE demand_id IN ({touched})"
    )
    conn.execute(text(f"DELETE FROM journey_days WHERE (day, service_key, kind) IN ({groups})"))
    _days_grouped(conn, dialect, groups)
    done("per day")
    # keep the planner's statistics fresh as the rollup grows
    if dialect == "sqlite" or top - last > BIG:
        _statistics(conn, full=top - last > BIG)
    done("statistics")
    _mark(conn, top)
    return int(top - last)


def settle(engine: Engine, folded: int) -> None:
    """After a big fold has committed (``folded`` events), on PostgreSQL: VACUUM the rollup's tables.

    Their rows were all just written, so until a vacuum marks their pages all-visible every index
    seek of a report visits the table too: the experience page took twice as long until autovacuum
    came by. A VACUUM cannot run inside a transaction, hence after it (a tenth of a second per
    million events; not the table's owner: PostgreSQL skips it with a warning, autovacuum does it later).
    """
    if folded <= BIG or engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM journey_stages, journey_totals, journey_days"))


def _scaled(scales: Mapping[str, tuple[int, int]] | None) -> str:
    """A survey answer (``r``) on its method's 0..1 scale; NULL for methods without one."""
    whens = " ".join(
        f"WHEN '{_quote(m)}' THEN (r.score - {int(lo)}) * 1.0 / {int(hi) - int(lo)}"
        for m, (lo, hi) in (scales or {}).items()
        if hi > lo
    )
    return f"CASE r.method {whens} END" if whens else "NULL"


def _totals(conn: Connection, dialect: str, scaled: str, where: str | None) -> None:
    """Sum journey_stages per demand (of the demands ``where`` picks, all when None) into journey_totals,
    each with what the reports would otherwise work out again and again: its failure-demand category
    (against the customer's previous journey about the same service), the customer's previous resolved
    journey of the same service and kind, and the stage it spent longest in before the outcome."""
    from sqlalchemy import literal_column as col

    from .failure import category_of
    from .outside_in import AFTER

    category = category_of(col("a.cause"), col("a.kind"), col("a.service_key"), col("a.since_last"))
    category_sql = str(category.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    after = ", ".join(f"'{s}'" for s in AFTER)
    paired = "CASE WHEN a.outcome_secs IS NOT NULL AND a.service_key IS NOT NULL THEN 1 ELSE 0 END"
    created = _epoch(dialect, "g.created_at")
    # each part per demand of its own (sums, survey score, longest stage); a refresh picks its demands
    # (those of the customers it touched) in each part
    ids = f"SELECT d.id FROM demands d WHERE {where}"

    def picked(column: str) -> str:
        return "" if where is None else f"WHERE {column} IN ({ids})"

    if dialect == "sqlite":  # a lookup per demand for its survey score: cheaper here than sorting them all
        # both worked out once per demand with the sums (outside, each would be worked out once per use)
        score, pain = "s.score", "s.pain_stage"
        # the longest stage in the same pass as the sums: the greatest of a text key that orders as
        # (secs, then the earlier stage) and ends with the stage's name. Durations are differences of
        # epoch seconds, so two that differ do so by far more than the nine decimals the key keeps.
        longest_key = (
            f"MAX(CASE WHEN stage NOT IN ({after}) "
            "THEN printf('%025.9f%03d', coalesce(secs, -1.0), 999 - pos) || stage END)"
        )
        per_demand = (
            f", (SELECT AVG({scaled}) FROM survey_responses r WHERE r.demand_id = journey_stages.demand_id) AS score"
            f", substr({longest_key}, 29) AS pain_stage"
        )
        joins = ""
    else:  # PostgreSQL: joined per demand (a subplan per demand costs more than one pass)
        score, pain, per_demand = "sc.score", "pn.stage AS pain_stage", ""
        in_ids = "" if where is None else f" AND p.demand_id IN ({ids})"
        joins = f"""
                    LEFT JOIN (
                        SELECT r.demand_id, AVG({scaled}) AS score FROM survey_responses r
                        {picked("r.demand_id")} GROUP BY r.demand_id
                    ) sc ON sc.demand_id = s.demand_id
                    LEFT JOIN (
                        SELECT DISTINCT ON (p.demand_id) p.demand_id, p.stage FROM journey_stages p
                        WHERE p.stage NOT IN ({after}){in_ids}
                        ORDER BY p.demand_id, coalesce(p.secs, -1.0) DESC, p.pos
                    ) pn ON pn.demand_id = s.demand_id"""
    conn.execute(
        text(
            f"""
            INSERT INTO journey_totals (demand_id, effort, touches, contacts, outcome_secs, score, customer_id,
                                        kind, cause, service_key, created_at, category, prev_id, prev_secs,
                                        prev_effort, prev_score, pain_stage)
            SELECT a.demand_id, a.effort, a.touches, a.contacts, a.outcome_secs, a.score, a.customer_id,
                   a.kind, a.cause, a.service_key, a.created_at, {category_sql},
                   CASE WHEN {paired} = 1 THEN a.prev_id END, CASE WHEN {paired} = 1 THEN a.prev_secs END,
                   CASE WHEN {paired} = 1 THEN a.prev_effort END, CASE WHEN {paired} = 1 THEN a.prev_score END,
                   a.pain_stage
            FROM (
                SELECT g.*,
                       {created} - LAG({created}) OVER (PARTITION BY g.customer_id, g.service_key
                                                          ORDER BY g.created_at, g.demand_id) AS since_last,
                       LAG(g.demand_id) OVER w AS prev_id, LAG(g.outcome_secs) OVER w AS prev_secs,
                       LAG(g.effort) OVER w AS prev_effort, LAG(g.score) OVER w AS prev_score
                FROM (
                    SELECT s.demand_id, s.effort, s.touches, s.contacts,
                           {_epoch(dialect, "d.resolved_at")} - {_epoch(dialect, "d.created_at")} AS outcome_secs,
                           {score}, d.customer_id, d.kind, d.cause, d.service_key, d.created_at, {pain}
                    FROM (
                        SELECT demand_id, SUM(effort) AS effort, SUM(touches) AS touches, SUM(contacts) AS contacts
                               {per_demand}
                        FROM journey_stages {picked("demand_id")}
                        GROUP BY demand_id
                    ) s
                    JOIN demands d ON d.id = s.demand_id{joins}
                ) g
                WINDOW w AS (PARTITION BY g.customer_id, g.service_key, g.kind,
                                          {paired.replace("a.", "g.")}
                             ORDER BY g.created_at, g.demand_id)
            ) a
            """
        )
    )


def _leaving_times(conn: Connection, demands: str) -> None:
    """When each stage of the demands the query ``demands`` gives was left: the next stage's entry, in
    journey order (by entry, then by stage position on ties)."""
    conn.execute(
        text(
            f"""
            UPDATE journey_stages SET left_at = (
                SELECT MIN(s2.entered) FROM journey_stages s2
                WHERE s2.demand_id = journey_stages.demand_id
                  AND (s2.entered > journey_stages.entered
                       OR (s2.entered = journey_stages.entered AND s2.pos > journey_stages.pos))
            )
            WHERE demand_id IN ({demands})
            """
        )
    )


def _mark(conn: Connection, mark: int) -> None:
    """Remember the newest event id folded in."""
    if conn.execute(select(t.report_state.c.name).where(t.report_state.c.name == NAME)).first() is None:
        conn.execute(t.report_state.insert().values(name=NAME, value=mark))
    else:
        conn.execute(t.report_state.update().where(t.report_state.c.name == NAME).values(value=mark))


def _empty(conn: Connection) -> bool:
    """Whether the rollup holds nothing yet (a first refresh may then build it in one pass)."""
    return all(
        conn.execute(select(table.c[0]).limit(1)).first() is None
        for table in (t.journey_stages, t.journey_totals, t.journey_days)
    )


def _statistics(conn: Connection, *, full: bool) -> None:
    """The planner's statistics. SQLite: those of the tables the reports read after a big fold (they
    join the rollup to demands and survey answers, so those tables' figures matter as much; the
    events themselves are left out: reading them all took a quarter of a second per million), else
    as needed. PostgreSQL:
    the rollup's tables after a big fold, at once (autovacuum would come to them later, and a report
    planned without them in between may take minutes); its own daemon keeps the rest."""
    if conn.dialect.name == "postgresql":
        if full:
            conn.execute(text("ANALYZE journey_stages, journey_totals, journey_days"))
        return
    if not full:
        conn.execute(text("PRAGMA optimize"))
        return
    # whole (statistics from a sample, PRAGMA analysis_limit, saved 0.3 s here but led the outside-in
    # map of one service to a plan that took 0.34 s instead of 0.19 s)
    for table in ANALYSED:
        conn.execute(text(f"ANALYZE {table}"))


@contextmanager
def _pragmas(conn: Connection, values: Mapping[str, int]) -> Iterator[None]:
    """SQLite: ``PRAGMA name = value`` for each of ``values`` while inside, each as it was afterwards."""
    before = {name: int(conn.execute(text(f"PRAGMA {name}")).scalar() or 0) for name in values}
    for name, value in values.items():
        conn.execute(text(f"PRAGMA {name} = {int(value)}"))
    try:
        yield
    finally:
        for name, value in before.items():
            conn.execute(text(f"PRAGMA {name} = {value}"))


@contextmanager
def _settings(conn: Connection, values: Mapping[str, str]) -> Iterator[None]:
    """PostgreSQL: each of ``values`` set for the transaction while inside, each as it was afterwards."""
    before = {name: str(conn.execute(text(f"SELECT current_setting('{name}')")).scalar()) for name in values}
    for name, value in values.items():
        conn.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})
    try:
        yield
    finally:
        for name, value in before.items():
            conn.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})


@contextmanager
def _sorting_on_cores(conn: Connection) -> Iterator[None]:
    """SQLite: the sorts of the index builds inside spread over the machine's cores (PostgreSQL does so itself).

    SQLite's sorter uses helper threads only for sorts larger than the page cache, as runs it writes out
    and merges, so the cache is made small for the while: 875,000 rows went into an index in 0.5 s
    instead of 0.9 s on two cores. On one core, nothing changes.
    """
    cores = os.cpu_count() or 1
    if conn.dialect.name != "sqlite" or cores < 2:
        yield
        return
    with _pragmas(conn, {"threads": min(cores, SORT_THREADS), "main.cache_size": SORT_CACHE_KIB}):
        yield


def _build(conn: Connection, dialect: str, scaled: str, top: int, done: Callable[[str], None]) -> None:
    """Fill the empty rollup from every event up to ``top`` in one pass per table (see the module's text)."""
    indexes = [ix for table in (t.journey_stages, t.journey_totals) for ix in table.indexes]
    for ix in indexes:
        # those there (on SQLite a build that failed before its drops were in its transaction may have left none)
        ix.drop(conn, checkfirst=True)
    # room to sort, fold and build the indexes in memory: SQLite's page caches for this connection's
    # while; on PostgreSQL for this transaction's, whose default sorts a million rows on disk
    room = (
        _pragmas(conn, {"main.cache_size": BUILD_CACHE_KIB, "temp.cache_size": BUILD_CACHE_KIB})
        if dialect == "sqlite"
        else _settings(conn, BUILD_SETTINGS)
    )
    with room:
        if dialect == "sqlite":
            _stages_sqlite(conn, top, done)
        else:
            # the primary key too is built once at the end (from rows that come in its order)
            conn.execute(text("ALTER TABLE journey_stages DROP CONSTRAINT pk_journey_stages"))
            _stages_grouped(conn, top)
            conn.execute(
                text("ALTER TABLE journey_stages ADD CONSTRAINT pk_journey_stages PRIMARY KEY (demand_id, stage)")
            )
            done("stages")
            done("leaving times")
        with _sorting_on_cores(conn):
            for ix in t.journey_stages.indexes:
                ix.create(conn)
        done("durations")
        _totals(conn, dialect, scaled, None)
        for ix in t.journey_totals.indexes:
            ix.create(conn)
        done("per demand")
        _days_built(conn, dialect)
        done("per day")
        _statistics(conn, full=True)
        done("statistics")


#: A first build's stage rows (``g``, with its leaving time) joined to their demand (``d``) into journey_stages.
_STAGE_ROWS = """INSERT INTO journey_stages (demand_id, stage, pos, entered, left_at, secs, channel, effort, touches,
                                customer_actions, contacts, comments, kind, service_key, created_at)
    SELECT g.demand_id, g.stage, g.pos, g.entered, g.left_at, g.left_at - g.entered, g.channel, g.effort,
           g.touches, g.customer_actions, g.contacts, g.comments, d.kind, d.service_key, d.created_at"""


def _stages_grouped(conn: Connection, top: int) -> None:
    """PostgreSQL: the events grouped per demand and stage, each stage's leaving time by a window over them."""
    at = _epoch("postgresql", "e.at")
    # as stored: a float, so the durations are the same differences of floats as a later fold's
    conn.execute(
        text(
            f"""
            {_STAGE_ROWS}
            FROM (
                SELECT s.*, LEAD(s.entered) OVER (PARTITION BY s.demand_id ORDER BY s.entered, s.pos) AS left_at
                FROM (
                    SELECT e.demand_id, e.stage, {_POS.replace("stage", "e.stage", 1)} AS pos,
                           CAST(MIN({at}) AS DOUBLE PRECISION) AS entered,
                           (array_agg(e.channel ORDER BY e.at, e.id))[1] AS channel, SUM(e.effort) AS effort,
                           COUNT(*) AS touches,
                           SUM(CASE WHEN e.actor = 'customer' THEN 1 ELSE 0 END) AS customer_actions,
                           SUM(CASE WHEN e.actor = 'customer' AND e.kind IN ('submitted', 'comment')
                                    THEN 1 ELSE 0 END) AS contacts,
                           SUM(CASE WHEN e.actor = 'customer' AND e.kind = 'comment' THEN 1 ELSE 0 END)
                               AS comments
                    FROM journey_events e
                    WHERE e.id <= {int(top)}
                    GROUP BY e.demand_id, e.stage
                ) s
            ) g JOIN demands d ON d.id = g.demand_id
            """
        )
    )


#: SQLite: the events folded per demand and stage before they go into journey_stages (this connection's own).
_FOLD = "temp.journey_fold"


def _stages_sqlite(conn: Connection, top: int, done: Callable[[str], None]) -> None:
    """SQLite: the events folded per demand and stage by an upsert into a temporary table (over a million
    events 0.8 s against 1.4 s for sorting them for a GROUP BY; also less with the events in random order),
    then each stage's leaving time as the rows go into journey_stages.

    The fold is kept in stage order (its key is the demand, the stage's position, the stage), so the next
    stage's entry is read in the order the rows already have, without sorting 875,000 of them again. That
    is each stage's leaving time whenever a journey entered its stages in stage order, as nearly all do;
    the few that did not show it by a negative duration, and theirs are worked out again afterwards.
    """
    conn.execute(text(f"DROP TABLE IF EXISTS {_FOLD}"))
    conn.execute(
        text(
            f"""
            CREATE TABLE {_FOLD} (
                demand_id INTEGER NOT NULL, stage VARCHAR(16) NOT NULL, pos INTEGER NOT NULL, entered FLOAT NOT NULL,
                channel VARCHAR(64) NOT NULL, effort INTEGER NOT NULL, touches INTEGER NOT NULL,
                customer_actions INTEGER NOT NULL, contacts INTEGER NOT NULL, comments INTEGER NOT NULL,
                PRIMARY KEY (demand_id, pos, stage)
            ) WITHOUT ROWID
            """
        )
    )
    try:
        # in id order: a stage's channel is that of its earliest event, the first written on a tie
        # (the position is the stage's own, so the key is as unique as (demand, stage))
        conn.execute(
            text(
                f"""
                INSERT INTO {_FOLD} (demand_id, stage, pos, entered, channel, effort, touches, customer_actions,
                                     contacts, comments)
                SELECT e.demand_id, e.stage, {_POS.replace("stage", "e.stage", 1)}, {_epoch("sqlite", "e.at")},
                       e.channel, e.effort, 1, CASE WHEN e.actor = 'customer' THEN 1 ELSE 0 END,
                       CASE WHEN e.actor = 'customer' AND e.kind IN ('submitted', 'comment') THEN 1 ELSE 0 END,
                       CASE WHEN e.actor = 'customer' AND e.kind = 'comment' THEN 1 ELSE 0 END
                FROM journey_events e
                WHERE e.id <= {int(top)}
                ORDER BY e.id
                ON CONFLICT (demand_id, pos, stage) DO UPDATE SET
                    channel = CASE WHEN excluded.entered < entered THEN excluded.channel ELSE channel END,
                    entered = min(entered, excluded.entered),
                    effort = effort + excluded.effort,
                    touches = touches + 1,
                    customer_actions = customer_actions + excluded.customer_actions,
                    contacts = contacts + excluded.contacts,
                    comments = comments + excluded.comments
                """
            )
        )
        done("stages")
        # the next stage's entry in stage order: one step along the fold's key (cheaper than a window
        # carrying every row through)
        conn.execute(
            text(
                f"""
                {_STAGE_ROWS}
                FROM (
                    SELECT f.*, (
                        SELECT n.entered FROM {_FOLD} n
                        WHERE n.demand_id = f.demand_id AND (n.pos, n.stage) > (f.pos, f.stage)
                        ORDER BY n.pos, n.stage LIMIT 1
                    ) AS left_at
                    FROM {_FOLD} f
                ) g JOIN demands d ON d.id = g.demand_id
                """
            )
        )
    finally:
        conn.execute(text(f"DROP TABLE IF EXISTS {_FOLD}"))
    # a journey that entered a stage before an earlier one: in journey order, as a later fold would
    out_of_order = "SELECT demand_id FROM journey_stages WHERE secs < 0"
    if conn.execute(text(f"{out_of_order} LIMIT 1")).first() is not None:
        _leaving_times(conn, out_of_order)
        conn.execute(text(f"UPDATE journey_stages SET secs = left_at - entered WHERE demand_id IN ({out_of_order})"))
    done("leaving times")


def _days_built(conn: Connection, dialect: str) -> None:
    """journey_days from the whole of journey_stages. SQLite: summed by an upsert per stage row into the few
    thousand day buckets (cheaper there than sorting the rows for a GROUP BY); PostgreSQL: grouped (hashed)."""
    if dialect == "sqlite":
        conn.execute(
            text(
                f"""
                INSERT INTO journey_days (day, service_key, kind, stage, channel, reached, timed, effort, touches,
                                          customer_actions, contacts, comments)
                SELECT {_DAY["sqlite"]}, coalesce(service_key, ''), kind, stage, channel, 1,
                       CASE WHEN secs IS NULL THEN 0 ELSE 1 END, effort, touches, customer_actions, contacts, comments
                FROM journey_stages
                WHERE true
                ON CONFLICT (day, service_key, kind, stage, channel) DO UPDATE SET
                    reached = reached + 1,
                    timed = timed + excluded.timed,
                    effort = effort + excluded.effort,
                    touches = touches + excluded.touches,
                    customer_actions = customer_actions + excluded.customer_actions,
                    contacts = contacts + excluded.contacts,
                    comments = comments + excluded.comments
                """
            )
        )
        return
    _days_grouped(conn, dialect, None)


def _days_grouped(conn: Connection, dialect: str, groups: str | None) -> None:
    """journey_days summed from journey_stages by a GROUP BY: the (day, service, kind) buckets that the
    query ``groups`` gives, or all of them."""
    day = _DAY[dialect]
    where = f"WHERE ({day}, coalesce(service_key, ''), kind) IN ({groups})" if groups else ""
    conn.execute(
        text(
            f"""
            INSERT INTO journey_days (day, service_key, kind, stage, channel, reached, timed, effort, touches,
                                      customer_actions, contacts, comments)
            SELECT {day}, coalesce(service_key, ''), kind, stage, channel, COUNT(*), COUNT(secs), SUM(effort),
                   SUM(touches), SUM(customer_actions), SUM(contacts), SUM(comments)
            FROM journey_stages
            {where}
            GROUP BY {day}, coalesce(service_key, ''), kind, stage, channel
            """
        )
    )
