"""What stays after a call: records and events in the database, the outbox, the recordings'
index."""
