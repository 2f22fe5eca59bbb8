"""Alembic's environment: callcenter runs migrations itself at start (``Database.migrate``),
handing over an open connection; ``alembic`` on the command line is not needed."""

from __future__ import annotations

from alembic import context

from callcenter.history.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
