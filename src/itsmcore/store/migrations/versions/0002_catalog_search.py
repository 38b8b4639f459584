"""catalog search indexes: FTS5 + a trigram index of the vocabulary on SQLite, tsvector + pg_trgm on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_words",
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.Column("grams", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_catalog_words")),
    )
    op.create_table(
        "catalog_grams",
        sa.Column("gram", sa.String(length=8), nullable=False),
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("gram", "word", name=op.f("pk_catalog_grams")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE catalog_fts USING fts5("
            "key UNINDEXED, name, keywords, category, description, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_services_fts ON services USING gin (("
            "setweight(to_tsvector('english', coalesce(name, '') || ' ' || coalesce(keywords, '')), 'A') || "
            "setweight(to_tsvector('english', coalesce(category, '')), 'B') || "
            "setweight(to_tsvector('english', coalesce(description, '')), 'C')))"
        )
        op.execute(
            "CREATE INDEX ix_services_trgm ON services USING gin ((lower(name || ' ' || keywords)) gin_trgm_ops)"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE IF EXISTS catalog_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_services_fts")
        op.execute("DROP INDEX IF EXISTS ix_services_trgm")
    op.drop_table("catalog_grams")
    op.drop_table("catalog_words")
