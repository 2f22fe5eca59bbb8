"""The tables are written twice: in ``schema.py`` (what the code queries) and in the Alembic
revisions (what a database is built from). A database built by the revisions has exactly the
tables, columns, types, nullability and indexes that ``schema.py`` declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from callcenter.history.db.database import Database
from callcenter.history.db.schema import metadata


def test_a_database_built_by_the_migrations_has_the_tables_the_schema_declares(tmp_path: Path):
    database = Database("sqlite:///history.db", tmp_path)
    database.migrate()
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    database.dispose()
    assert differences == []
