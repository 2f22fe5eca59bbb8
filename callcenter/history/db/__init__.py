"""The database: call history, the event log, agents, recordings and the notification outbox.

SQLAlchemy 2 (Core) over a SQLite file by default or PostgreSQL by URL; the schema is migrated with
Alembic at start. Nothing here knows about the event loop: the server runs these synchronous
operations one at a time on a thread of their own (see ``callcenter.history.records``).
"""
