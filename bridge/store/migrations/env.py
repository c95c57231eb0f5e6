"""Alembic environment: runs on the connection handed over by ``bridge.store.engine.upgrade``."""

from alembic import context

from bridge.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through bridge.store.engine.upgrade (esb-bridge db upgrade)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
