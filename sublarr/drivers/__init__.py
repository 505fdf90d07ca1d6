"""Built-in drivers: storage (SQLite, PostgreSQL), cache (memory, Redis), queue (threads, RQ)."""
