-- name: migrations_table
-- The record of applied migrations; made by the migrator itself, before any migration.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now())

-- name: migrations_lock
-- One migrator at a time ($1 the migrator's advisory lock key), until migrations_unlock.
SELECT pg_advisory_lock($1)

-- name: migrations_unlock
SELECT pg_advisory_unlock($1)

-- name: migrations_applied
-- The versions applied so far.
SELECT version FROM schema_migrations

-- name: migration_record
-- Records migration $1 ($2 its name) as applied, in the transaction that applied it.
INSERT INTO schema_migrations (version, name) VALUES ($1, $2)

-- name: migrations_table_exists
-- Whether the database was ever migrated.
SELECT to_regclass('schema_migrations') IS NOT NULL

-- name: migrations_current_version
-- The newest migration applied.
SELECT max(version) FROM schema_migrations
