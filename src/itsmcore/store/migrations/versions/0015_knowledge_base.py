"""knowledge base: articles and their versions, uses, feedback, searches, and their search index

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_articles",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("keywords_text", sa.Text(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("audience_text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_knowledge_articles")),
    )
    op.create_index(op.f("ix_knowledge_articles_state"), "knowledge_articles", ["state"], unique=False)
    op.create_table(
        "knowledge_versions",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("changed_by", sa.String(length=128), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key"], ["knowledge_articles.key"], name=op.f("fk_knowledge_versions_key_knowledge_articles")
        ),
        sa.PrimaryKeyConstraint("key", "version", name=op.f("pk_knowledge_versions")),
    )
    op.create_table(
        "knowledge_uses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_key", sa.String(length=128), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], name=op.f("fk_knowledge_uses_demand_id_demands")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_uses")),
    )
    op.create_index(op.f("ix_knowledge_uses_article_key_at"), "knowledge_uses", ["article_key", "at"], unique=False)
    op.create_index(op.f("ix_knowledge_uses_demand_id"), "knowledge_uses", ["demand_id"], unique=False)
    op.create_table(
        "knowledge_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_key", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("helped", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_feedback")),
    )
    op.create_index(
        op.f("ix_knowledge_feedback_article_key_at"), "knowledge_feedback", ["article_key", "at"], unique=False
    )
    op.create_table(
        "knowledge_searches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("services", sa.Integer(), nullable=False),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_searches")),
    )
    op.create_index(op.f("ix_knowledge_searches_at"), "knowledge_searches", ["at"], unique=False)
    op.create_table(
        "knowledge_words",
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.Column("grams", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_knowledge_words")),
    )
    op.create_table(
        "knowledge_grams",
        sa.Column("gram", sa.String(length=8), nullable=False),
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("gram", "word", name=op.f("pk_knowledge_grams")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE knowledge_fts USING fts5("
            "key UNINDEXED, title, keywords, body, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_knowledge_fts ON knowledge_articles USING gin (("
            "setweight(to_tsvector('english', title || ' ' || keywords_text), 'A') || "
            "setweight(to_tsvector('english', body), 'C')))"
        )
        op.execute(
            "CREATE INDEX ix_knowledge_trgm ON knowledge_articles "
            "USING gin ((lower(title || ' ' || keywords_text)) gin_trgm_ops)"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE IF EXISTS knowledge_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_knowledge_fts")
        op.execute("DROP INDEX IF EXISTS ix_knowledge_trgm")
    op.drop_table("knowledge_grams")
    op.drop_table("knowledge_words")
    op.drop_index(op.f("ix_knowledge_searches_at"), table_name="knowledge_searches")
    op.drop_table("knowledge_searches")
    op.drop_index(op.f("ix_knowledge_feedback_article_key_at"), table_name="knowledge_feedback")
    op.drop_table("knowledge_feedback")
    op.drop_index(op.f("ix_knowledge_uses_demand_id"), table_name="knowledge_uses")
    op.drop_index(op.f("ix_knowledge_uses_article_key_at"), table_name="knowledge_uses")
    op.drop_table("knowledge_uses")
    op.drop_table("knowledge_versions")
    op.drop_index(op.f("ix_knowledge_articles_state"), table_name="knowledge_articles")
    op.drop_table("knowledge_articles")
