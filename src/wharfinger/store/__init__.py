"""SQLAlchemy models and migrations: SQLite by default, PostgreSQL in production (edge)."""
