"""The schema, in SQLAlchemy Core.

Core rather than the ORM: intake writes a demand, its events and its jobs in one
transaction many times a second, and Core does that at about twice the ORM's rate
on SQLite (measured by ``bench/intake.py``). Rows are mapped to the attrs domain
types in :mod:`itsmcore.store.rows`. The Alembic migrations under ``migrations/``
are the source of truth for existing databases; a test checks they match.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = DateTime(timezone=True)

#: The demand states in which a demand is open work for its team (``itsmcore.desk.teams.WORK_STATES``),
#: as the partial index and the workload triggers spell them.
WORK_STATES = ("new", "awaiting_approval", "in_fulfilment", "stuck", "in_progress")
WORK_WHERE = "state IN (" + ", ".join(f"'{s}'" for s in WORK_STATES) + ")"

services = Table(
    "services",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("category", String(128), nullable=False, default=""),
    Column("keywords", Text, nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("kind", String(16), nullable=False, default="value"),
)

# Trigrams of the words of each service's name, key and keywords: typo-tolerant search
# that works the same on every database (PostgreSQL also gets pg_trgm; see catalog.py).
# The catalog's vocabulary (words of names, keywords, categories and descriptions) and
# their trigrams: typos are corrected against these words, then the word index answers.
catalog_words = Table(
    "catalog_words",
    metadata,
    Column("word", String(64), primary_key=True),
    Column("grams", Integer, nullable=False),
)

catalog_grams = Table(
    "catalog_grams",
    metadata,
    Column("gram", String(8), primary_key=True),
    Column("word", String(64), primary_key=True),
)

demands = Table(
    "demands",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("state", String(24), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("customer_role", String(128)),
    Column("customer_department", String(128)),
    Column("service_key", String(128)),
    Column("channel", String(64), nullable=False),
    Column("summary", Text, nullable=False),
    Column("details", Text, nullable=False, default=""),
    Column("answers", JSON, nullable=False, default=dict),
    Column("outputs", JSON, nullable=False, default=dict),
    Column("priority", Integer, nullable=False, default=3),
    Column("team", String(128)),
    Column("assignee", String(128)),
    Column("external_ref", String(512), unique=True),
    Column("caused_by", Integer, ForeignKey("demands.id")),
    Column("cause", String(64)),
    Column("announcement_id", Integer, ForeignKey("announcements.id")),
    Column("waiting_for", Text),
    Column("self_service", Boolean, nullable=False, default=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("resolved_at", TS),
    Index(None, "customer_id", "created_at"),
    Index(None, "state"),
    Index(None, "service_key"),
    Index(None, "team", "state", "assignee"),
    Index(None, "assignee", "state"),
    # a team's open work without a service-level clock, in queue order (the queue's second read)
    Index(
        "ix_demands_team_work_order",
        "team",
        "priority",
        "created_at",
        "id",
        sqlite_where=text(WORK_WHERE),
        postgresql_where=text(WORK_WHERE),
    ),
)

# A team's open demands per agent ('' for none yet): what its workload shows, counted as the
# demands change instead of on every view. Kept by triggers on demands (migration 0024), so
# every writer (the journey, bulk loads, history) keeps it. On SQLite they add to these rows
# directly; on PostgreSQL, where concurrent writers would queue on one hot row, they append
# +1/-1 rows to workload_changes, which a read sums with these and folds in (Teams._workload).
team_workload = Table(
    "team_workload",
    metadata,
    Column("team", String(128), primary_key=True),
    Column("assignee", String(128), primary_key=True),
    Column("open", Integer, nullable=False),
)

workload_changes = Table(
    "workload_changes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("team", String(128), nullable=False),
    Column("assignee", String(128), nullable=False),
    Column("delta", Integer, nullable=False),
    Index(None, "team"),
)

journey_events = Table(
    "journey_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("demand_id", Integer, ForeignKey("demands.id"), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("kind", String(32), nullable=False, default="note"),
    Column("customer_sees", Text, nullable=False, default=""),
    Column("behind_scenes", Text, nullable=False, default=""),
    Column("effort", Integer, nullable=False, default=0),
    Column("at", TS, nullable=False),
    # e.g. the Message-ID of an email reply: unique, so two processes taking in the same
    # reply at once record it once (the loser's insert fails and it reads the winner's row).
    Column("external_ref", String(512)),
    # who acted (itsmcore.model.Identity): the agent's login and name, or the API token's name;
    # and the person they acted for (an approver whose answer an agent records). Null for the
    # customer's and the system's own events.
    Column("actor_login", String(128)),
    Column("actor_name", String(256)),
    Column("for_login", String(128)),
    Column("for_name", String(256)),
    Index(None, "demand_id", "id"),
    Index(None, "at"),
    Index(None, "external_ref", unique=True),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("demand_id", Integer, ForeignKey("demands.id")),
    Column("customer_id", String(128)),
    Column("announcement_id", Integer, ForeignKey("announcements.id")),
    Column("action", String(128), nullable=False),
    Column("step", Integer, nullable=False, default=0),
    Column("params", JSON, nullable=False, default=dict),
    Column("key", String(256), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=5),
    Column("run_after", TS, nullable=False),
    Column("lease_until", TS),
    Column("error", Text),
    Column("result", JSON),
    Column("created_at", TS, nullable=False),
    Column("finished_at", TS),
    Index(None, "state", "run_after"),
    Index(None, "demand_id"),
    Index(None, "announcement_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("demand_id", Integer, ForeignKey("demands.id")),
    Column("job_id", Integer, ForeignKey("jobs.id")),
    Column("channel", String(64), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("address", String(512), nullable=False, default=""),
    Column("purpose", String(64), nullable=False, default="notification"),
    Column("subject", Text, nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),
    Column("reference", String(512), nullable=False, default=""),
    Column("fallback", Boolean, nullable=False, default=False),
    Column("at", TS, nullable=False),
    Index(None, "demand_id"),
    Index(None, "customer_id"),
)

plugin_errors = Table(
    "plugin_errors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("demand_id", Integer, ForeignKey("demands.id")),
    Column("plugin", String(256), nullable=False),
    Column("hook", String(128), nullable=False),
    Column("error", Text, nullable=False),
    Column("at", TS, nullable=False),
    Index(None, "demand_id"),
)

announcements = Table(
    "announcements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_key", String(128), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("workaround", Text, nullable=False, default=""),
    Column("workaround_links", JSON, nullable=False, default=list),
    Column("estimate", Text, nullable=False, default=""),
    Column("state", String(16), nullable=False),
    Column("source", String(128), nullable=False, default="agent"),
    Column("resolution", Text, nullable=False, default=""),
    Column("opened_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("resolved_at", TS),
    Index(None, "service_key", "state"),
)

announcement_customers = Table(
    "announcement_customers",
    metadata,
    Column("announcement_id", Integer, ForeignKey("announcements.id"), primary_key=True),
    Column("customer_id", String(128), primary_key=True),
    Column("subscriber", Boolean, nullable=False, default=False),
    Column("affected", Boolean, nullable=False, default=False),
    Column("affected_at", TS),
    Column("response", String(16)),
    Column("responded_at", TS),
    Column("followed_up_at", TS),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("service_key", String(128), primary_key=True),
    Column("customer_id", String(128), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("since", TS, nullable=False),
    Index(None, "customer_id"),
)

survey_responses = Table(
    "survey_responses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("method", String(64), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("score", Integer, nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("demand_id", Integer, ForeignKey("demands.id")),
    Column("service_key", String(128)),
    Column("channel", String(64), nullable=False, default=""),
    Column("mode", String(16), nullable=False, default="transactional"),
    Column("at", TS, nullable=False),
    Index(None, "method", "at"),
    Index(None, "customer_id", "at"),
    Index(None, "demand_id"),
)

# The journey rollup the reports read: one row per demand and stage it reached, kept
# current from journey_events by ``itsmcore.reports.rollup.refresh`` (incrementally, by
# event id), so a report over a million events reads a few hundred thousand small rows
# through indexes instead of grouping and sorting the events each time. Like journey_totals,
# no foreign key to demands: the rows are derived from journey_events (which has one) and
# checking each of a bulk build's rows again cost more than the build itself on PostgreSQL.
journey_stages = Table(
    "journey_stages",
    metadata,
    Column("demand_id", Integer, primary_key=True),  # demands.id
    Column("stage", String(16), primary_key=True),
    Column("pos", Integer, nullable=False),
    Column("entered", Float, nullable=False),  # epoch seconds of the stage's first event
    Column("left_at", Float),  # when the next stage began (none while it is the last)
    Column("secs", Float),  # left_at - entered
    Column("channel", String(64), nullable=False),  # where the stage began
    Column("effort", Integer, nullable=False),
    Column("touches", Integer, nullable=False),
    Column("customer_actions", Integer, nullable=False),
    Column("contacts", Integer, nullable=False),
    Column("comments", Integer, nullable=False),  # the customer's comments: chases
    Column("kind", String(16), nullable=False),
    Column("service_key", String(128)),
    Column("created_at", TS, nullable=False),
    Index(None, "stage", "secs"),
    Index(None, "service_key", "stage", "secs"),
    Index(None, "created_at"),
)

# journey_stages summed per demand, with its time to outcome: what "better than last time"
# compares, and the outcome percentiles (an index seek instead of a sort).
journey_totals = Table(
    "journey_totals",
    metadata,
    Column("demand_id", Integer, primary_key=True),  # demands.id (no foreign key: see journey_stages)
    Column("effort", Integer, nullable=False),
    Column("touches", Integer, nullable=False),
    Column("contacts", Integer, nullable=False),
    Column("outcome_secs", Float),  # creation to resolution, once resolved
    Column("score", Float),  # the customer's survey answers on it, scaled 0..1 by each method's scale
    Column("customer_id", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("cause", String(64)),
    Column("service_key", String(128)),
    Column("created_at", TS, nullable=False),
    # worked out at refresh time, so that reports read them instead of pairing journeys again:
    Column("category", String(16)),  # its failure-demand category (see reports.failure)
    # the customer's previous resolved journey of the same service and kind (reports.consistency);
    # none when this one is unresolved, has no service or is the first
    Column("prev_id", Integer),
    Column("prev_secs", Float),
    Column("prev_effort", Integer),
    Column("prev_score", Float),
    Column("pain_stage", String(16)),  # the stage it spent longest in before the outcome (ties: the earlier)
    Index(None, "outcome_secs"),
    Index(None, "service_key", "outcome_secs"),
    # a customer's journeys, paired again when one of them changes
    Index(None, "customer_id"),
)

# journey_stages summed per day of the demand's creation, service, kind, stage and channel:
# what a journey map counts, in a few thousand rows however long the history.
journey_days = Table(
    "journey_days",
    metadata,
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD (UTC) the demands were created
    Column("service_key", String(128), primary_key=True),  # '' for demands without a service
    Column("kind", String(16), primary_key=True),
    Column("stage", String(16), primary_key=True),
    Column("channel", String(64), primary_key=True),
    Column("reached", Integer, nullable=False),
    Column("timed", Integer, nullable=False),
    Column("effort", Integer, nullable=False),
    Column("touches", Integer, nullable=False),
    Column("customer_actions", Integer, nullable=False),
    Column("contacts", Integer, nullable=False),
    Column("comments", Integer, nullable=False),
)

# Bookkeeping of derived tables: how far each has read (e.g. the last journey event id).
report_state = Table(
    "report_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Integer, nullable=False),
)

# One row, made with the database by its first migration run: a random id that prefixes every
# idempotency key, so that a database recreated from scratch (whose demand ids start again
# at 1) never hands a remote system a key it has seen for another demand.
store_identity = Table(
    "store_identity",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", TS, nullable=False),
)

# Failed sign-ins, counted here rather than in a process's memory so that every process
# sharing the database (each web worker, on every machine) sees one count. The login is
# kept only as a keyed hash of its case-folded form: a password typed into the login
# field by mistake is not stored. Rows older than the window are deleted as new ones come.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("login_key", String(64), nullable=False),
    Column("address", String(64)),
    Column("at", TS, nullable=False),
    Index(None, "login_key", "at"),
    Index(None, "address", "at"),
    Index(None, "at"),
)

# Signed-in sessions of a channel (the portal's): the cookie holds a random token, this table
# its SHA-256, so a session ends everywhere when its customer signs out (or an agent ends
# their sessions), not when a copied cookie expires. Rows past ``expires_at`` are deleted
# as new sessions start.
sign_in_sessions = Table(
    "sign_in_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("customer_id", String(128), nullable=False, index=True),
    Column("started_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False, index=True),
    Column("ended_at", TS),
)

# API tokens of integrations (``itsm api-token new NAME --scope ...``): the store keeps the
# token's SHA-256, never the token. ``scopes`` is space-separated (read, write, agent, admin).
# ``last_used_at`` moves at most once a minute. ``rate_window`` (the number of the current
# fixed window, seconds since the epoch divided by its length) and ``rate_hits`` count the
# token's requests in it, so that every process shares one rate limit.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False, unique=True),
    Column("scopes", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("last_used_at", TS),
    Column("revoked_at", TS),
    Column("rate_window", BigInteger, nullable=False, default=0),
    Column("rate_hits", Integer, nullable=False, default=0),
)

# A plan's human steps (order the phone, ship it): one row per demand and task step, created
# in the transaction that reaches the step. ``milestones`` lists those reached so far, each
# ``{"name": ..., "at": iso}``; ``expected`` is the configured wording ("3 working days") and
# ``expected_at`` the day it works out to, when it is a number of days.
tasks = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("demand_id", Integer, ForeignKey("demands.id"), nullable=False),
    Column("step", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("team", String(128)),
    Column("state", String(16), nullable=False),
    Column("milestones", JSON, nullable=False, default=list),
    Column("assignee", String(128)),
    Column("expected", Text, nullable=False, default=""),
    Column("expected_at", TS),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index(None, "demand_id", "step", unique=True),
    Index(None, "state", "team"),
)

# What customers tell colleagues about a service after a fulfilled value demand: one review
# per demand (unique, so two submissions at once store one). A hidden review is kept, with
# who hid it and why; colleagues no longer see it, the desk still does.
reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("demand_id", Integer, ForeignKey("demands.id"), nullable=False),
    Column("service_key", String(128), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("rating", Integer, nullable=False),
    Column("text", Text, nullable=False, default=""),
    Column("anonymous", Boolean, nullable=False, default=False),
    Column("hidden", Boolean, nullable=False, default=False),
    Column("hidden_by", String(128)),
    Column("hidden_reason", Text, nullable=False, default=""),
    Column("at", TS, nullable=False),
    Index(None, "demand_id", unique=True),
    Index(None, "service_key", "hidden", "at"),
)

# Service-level clocks: one row per demand and metric ("response", "resolution"), written by
# the builtin service-levels plugin as it observes the journey. ``elapsed`` is the working time
# used before ``running_since`` (null while paused or stopped); ``due_at`` and ``warn_at`` are
# when the target and the warning fall while the clock runs (``warn_at`` null once warned), so
# the sweep finds what is due through an index, however many demands are open.
service_level_clocks = Table(
    "service_level_clocks",
    metadata,
    Column("demand_id", Integer, ForeignKey("demands.id"), primary_key=True),
    Column("metric", String(16), primary_key=True),
    Column("rule", String(128), nullable=False),
    Column("calendar", String(64), nullable=False),
    Column("target_secs", Float, nullable=False),
    Column("warn_share", Float, nullable=False),
    Column("service_key", String(128)),
    Column("kind", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # running, paused, stopped
    Column("paused_for", String(16)),  # customer, approver
    Column("elapsed", Float, nullable=False, default=0.0),
    Column("running_since", TS),
    Column("due_at", TS),
    Column("warn_at", TS),
    Column("warned_at", TS),
    Column("breached_at", TS),
    Column("started_at", TS, nullable=False),
    Column("stopped_at", TS),
    # the demand's team and agent, kept by triggers (migration 0024) as the clock is made and the
    # demand moves: a team's queue (or an agent's) reads its own running clocks by due date, not
    # every team's
    Column("team", String(128)),
    Column("assignee", String(128)),
    Index(None, "state", "due_at"),
    Index(None, "state", "warn_at"),
    Index(
        "ix_service_level_clocks_team_running",
        "team",
        "due_at",
        "demand_id",
        sqlite_where=text("state = 'running'"),
        postgresql_where=text("state = 'running'"),
    ),
    Index(
        "ix_service_level_clocks_assignee_running",
        "assignee",
        "team",
        "due_at",
        "demand_id",
        sqlite_where=text("state = 'running'"),
        postgresql_where=text("state = 'running'"),
    ),
    Index(None, "started_at"),
    # the few breached clocks, for a team's workload without a look at every open demand's clocks
    Index(
        "ix_service_level_clocks_breached_demand_id",
        "demand_id",
        sqlite_where=text("breached_at IS NOT NULL"),
        postgresql_where=text("breached_at IS NOT NULL"),
    ),
)

# What a customer chose about being contacted (``Desk.set_preferences``; the portal's
# preferences page): a null column means "as the directory says". ``channels`` is
# space-separated, in order; quiet hours are wall-clock ``HH:MM`` in ``time_zone``.
customer_preferences = Table(
    "customer_preferences",
    metadata,
    Column("customer_id", String(128), primary_key=True),
    Column("channels", String(512)),
    Column("quiet_start", String(5)),
    Column("quiet_end", String(5)),
    Column("time_zone", String(64)),
    Column("language", String(35)),
    Column("surveys", Boolean),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(128), nullable=False),
)

# One row per changed preference: who changed what, from what, when. Kept apart from the
# journey: a preference belongs to the customer, not to a demand.
preference_changes = Table(
    "preference_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(128), nullable=False),
    Column("field", String(32), nullable=False),
    Column("old", Text, nullable=False),
    Column("new", Text, nullable=False),
    Column("by", String(128), nullable=False),
    Column("at", TS, nullable=False),
    Index(None, "customer_id", "at"),
)

# Round robin's turn per team: the counter an assignment policy takes the next agent from,
# advanced in one statement, so two processes taking in demands at once give out turns once.
team_turns = Table(
    "team_turns",
    metadata,
    Column("team", String(128), primary_key=True),
    Column("turn", BigInteger, nullable=False, default=0),
)

# Knowledge base: each article's latest version in ``knowledge_articles`` and every version
# saved in ``knowledge_versions``. ``services``, ``keywords`` and ``audience`` are JSON lists;
# ``keywords_text`` and ``audience_text`` ("" for everyone, else "|group|group|") are the same
# as text the search's SQL can match in both dialects. Only published articles are in the
# search index (``knowledge_fts`` on SQLite, expression indexes on PostgreSQL, created by the
# migration) and its vocabulary of words a typo is corrected to.
knowledge_articles = Table(
    "knowledge_articles",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("services", JSON, nullable=False),
    Column("keywords", JSON, nullable=False),
    Column("keywords_text", Text, nullable=False, default=""),
    Column("audience", JSON, nullable=False),
    Column("audience_text", Text, nullable=False, default=""),
    Column("owner", String(128), nullable=False, default=""),
    Column("state", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(128), nullable=False, default=""),
    Index(None, "state"),
)

knowledge_versions = Table(
    "knowledge_versions",
    metadata,
    Column("key", String(128), ForeignKey("knowledge_articles.key"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("title", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("services", JSON, nullable=False),
    Column("keywords", JSON, nullable=False),
    Column("audience", JSON, nullable=False),
    Column("owner", String(128), nullable=False, default=""),
    Column("state", String(16), nullable=False),
    Column("changed_by", String(128), nullable=False),
    Column("changed_at", TS, nullable=False),
    Column("note", Text, nullable=False, default=""),
)

# How customers met articles: an answer to their question (``demand_id`` set) or an article
# opened from a search or a suggestion; and what they said when asked "did this help?".
knowledge_uses = Table(
    "knowledge_uses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_key", String(128), nullable=False),
    Column("demand_id", Integer, ForeignKey("demands.id")),
    Column("customer_id", String(128), nullable=False),
    Column("via", String(16), nullable=False),  # answer, read
    Column("at", TS, nullable=False),
    Index(None, "article_key", "at"),
    Index(None, "demand_id"),
)

knowledge_feedback = Table(
    "knowledge_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_key", String(128), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("helped", Boolean, nullable=False),
    Column("at", TS, nullable=False),
    Index(None, "article_key", "at"),
)

# What customers searched the portal for, and how much it found: searches finding nothing
# are the articles to write.
knowledge_searches = Table(
    "knowledge_searches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("query", String(200), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("services", Integer, nullable=False),
    Column("articles", Integer, nullable=False),
    Column("at", TS, nullable=False),
    Index(None, "at"),
)

knowledge_words = Table(
    "knowledge_words",
    metadata,
    Column("word", String(64), primary_key=True),
    Column("grams", Integer, nullable=False),
)

knowledge_grams = Table(
    "knowledge_grams",
    metadata,
    Column("gram", String(8), primary_key=True),
    Column("word", String(64), primary_key=True),
)

# Deliveries an inbound channel has taken in (a chat event id, an SMS message id), so a
# provider's retry or a replayed request is recognised after a restart and on every process.
# Rows older than the channel's retention are deleted as new ones are written.
inbound_events = Table(
    "inbound_events",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("received_at", TS, nullable=False),
    Index(None, "received_at"),
)

# Byte order on PostgreSQL, so that a prefix is a range of an index whatever the database's
# locale (terms are folded to lower case without accents before they are stored or looked up).
TERM = String(64).with_variant(String(64, collation="C"), "postgresql")

# The customers of the directories, for the desk's search as an agent types (a name, a login,
# an email address, a phone number): one row per customer with what the pick list shows, and
# their search terms, each a folded word of their name, login or email, their email address,
# and the digits of their phone number with its trailing parts (typing the last digits finds
# it). A search is a range scan of the terms' primary key. Filled by ``itsm customer index``.
customer_index = Table(
    "customer_index",
    metadata,
    Column("customer_id", String(128), primary_key=True),
    Column("name", String(256), nullable=False, default=""),
    Column("email", String(320), nullable=False, default=""),
    Column("phone", String(64), nullable=False, default=""),
    Column("role", String(128), nullable=False, default=""),
    Column("indexed_at", TS, nullable=False),
)

customer_terms = Table(
    "customer_terms",
    metadata,
    Column("term", TERM, primary_key=True),
    Column("customer_id", String(128), primary_key=True),
    Index(None, "customer_id"),
)

# The CMDB's relationships, as declared (config, a relationship file, plugins): ``ci``
# ``type`` ``target`` (a CI) or ``service`` (a catalog key). A ``connects_to`` is stored
# twice, the second row ``mirrored``, so an impact walk follows ``target -> ci`` alone
# (one index) in a recursive query. Replaced as a whole when the sources change.
ci_relationships = Table(
    "ci_relationships",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ci", String(128), nullable=False),
    Column("type", String(32), nullable=False),
    Column("target", String(128), nullable=True),
    Column("service", String(128), nullable=True),
    Column("origin", String(512), nullable=False, default=""),
    Column("mirrored", Boolean, nullable=False, default=False),
    Index(None, "target", "ci"),
    Index(None, "ci", "service"),
)

# One row per relationship source set: the fingerprint of what was loaded, and when.
cmdb_sync = Table(
    "cmdb_sync",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("count", Integer, nullable=False),
    Column("synced_at", TS, nullable=False),
)

# Planned changes: work on services and configuration items in a window (see desk/changes.py).
planned_changes = Table(
    "planned_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(256), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("services", JSON, nullable=False, default=list),
    Column("items", JSON, nullable=False, default=list),
    Column("window_start", TS, nullable=False),
    Column("window_end", TS, nullable=False),
    Column("risk", String(16), nullable=False),
    Column("customer_impact", Boolean, nullable=False, default=True),
    Column("approvers", JSON, nullable=False, default=list),
    Column("state", String(16), nullable=False),
    Column("owner", String(128), nullable=False, default=""),
    Column("announcements", JSON, nullable=False, default=list),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("started_at", TS, nullable=True),
    Column("ended_at", TS, nullable=True),
    Column("noticed_at", TS, nullable=True),
    Index(None, "window_start", "window_end"),
)

# One row per approver's decision on a change; ``decided_for`` is the approver it counts for.
change_decisions = Table(
    "change_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("change_id", Integer, ForeignKey("planned_changes.id", ondelete="CASCADE"), nullable=False),
    Column("approver", String(128), nullable=False),
    Column("on_behalf_of", String(128), nullable=True),
    Column("decided_for", String(128), nullable=False),
    Column("approved", Boolean, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("at", TS, nullable=False),
    Index(None, "change_id", "decided_for", unique=True),
)

# Problems and known errors: the cause behind repeated incidents (``itsm problem``).
problems = Table(
    "problems",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("services", JSON, nullable=False),
    Column("cis", JSON, nullable=False),
    Column("root_cause", Text, nullable=False, default=""),
    Column("workaround", Text, nullable=False, default=""),
    Column("state", String(16), nullable=False),
    Column("article_key", String(128)),
    Column("resolution", Text, nullable=False, default=""),
    Column("opened_by", String(128), nullable=False, default=""),
    Column("opened_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("resolved_at", TS),
    Index(None, "state"),
)

# What a problem is linked to: an incident (``demand_id``) or an announcement, one row each.
problem_links = Table(
    "problem_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("problem_id", Integer, ForeignKey("problems.id"), nullable=False),
    Column("demand_id", Integer, ForeignKey("demands.id")),
    Column("announcement_id", Integer, ForeignKey("announcements.id")),
    Column("other_service", Boolean, nullable=False, default=False),
    Column("linked_by", String(128), nullable=False, default=""),
    Column("linked_at", TS, nullable=False),
    Index(None, "problem_id", "demand_id", unique=True),
    Index(None, "problem_id", "announcement_id", unique=True),
    Index(None, "demand_id"),
)
