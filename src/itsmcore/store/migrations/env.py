"""Alembic environment: always run with a connection handed in by itsmcore."""

from alembic import context

from itsmcore.store.engine import include_object
from itsmcore.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through itsmcore.store.engine.upgrade
    raise RuntimeError("run migrations with 'itsm db upgrade'")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, include_object=include_object)
with context.begin_transaction():
    context.run_migrations()
