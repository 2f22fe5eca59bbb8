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


def test_calls_written_before_silent_seconds_were_kept_read_back_with_none(tmp_path: Path):
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import text

    from callcenter.history.db.database import MIGRATIONS

    database = Database("sqlite:///history.db", tmp_path)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as conn:  # the database as revision 0001 left it, with a call
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO calls (app_id, call_id, kind, node, priority, joined_at, "
                          "ring_attempts, recorded, talk) "
                          "VALUES ('demo', 'old1', 'queue', 'main', 0, 1.0, 0, 0, 30.0)"))
    database.migrate()
    call = database.get_call("demo", "old1")
    database.dispose()
    assert (call["talk"], call["silentSeconds"]) == (30.0, None)
