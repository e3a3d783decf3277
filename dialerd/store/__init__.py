"""The store: Postgres through asyncpg, SQL only in ``sql/`` (named queries and migrations)."""
