-- name: import_info_fields
-- The defined info fields (id, name), for mapping columns to them.
SELECT id, name FROM info_fields ORDER BY id

-- name: import_calling_systems
-- The registered calling systems' codes, for choosing the import's systemCode.
SELECT coalesce(array_agg(code ORDER BY code), '{}') FROM calling_systems

-- name: import_insert
-- An upload ($1 client, $2 campaign, $3 user id, $4 login, $5 file name, $6 kind, $7 its size
-- in bytes as uploaded); its file follows in parts (import_part_insert).
INSERT INTO file_imports (client_id, campaign_id, user_id, login, file_name, file_kind,
                          file_bytes)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id

-- name: import_part_insert
-- Part $2 (0, 1, ...) of import $1's file, $3 its bytes.
INSERT INTO file_import_parts (import_id, part, data) VALUES ($1, $2, $3)

-- name: import_get
-- The client's import $2, or with $2 NULL its latest $3 (newest first); without their files.
SELECT id, campaign_id, login, file_name, file_kind, file_bytes, sheet, mapping, system_code,
       max_attempts, min_call_interval_h, status, rows_total, rows_done, imported, updated,
       refused, refused_file IS NOT NULL AS has_refused_file, error, created_at, started_at,
       progress_at, finished_at, now() AS now
FROM file_imports
WHERE client_id = $1 AND ($2::bigint IS NULL OR id = $2)
ORDER BY id DESC
LIMIT $3

-- name: import_part
-- Part $2 of import $1's file (none past its end, and none once the import ended).
SELECT data FROM file_import_parts WHERE import_id = $1 AND part = $2

-- name: import_refused_file
-- The .xlsx of refused rows of an import of the client.
SELECT file_name, refused_file FROM file_imports WHERE id = $1 AND client_id = $2

-- name: import_queue
-- Starts an uploaded import ($1 id, $2 client): its sheet, mapping, calling system and attempt
-- rules ($3-$7), who started it ($8 user id, $9 login). Nothing if it is no longer uploaded.
UPDATE file_imports
SET status = 'queued', sheet = $3, mapping = $4, system_code = $5, max_attempts = $6,
    min_call_interval_h = $7, user_id = $8, login = $9
WHERE id = $1 AND client_id = $2 AND status = 'uploaded'
RETURNING id

-- name: import_queued_ids
-- The queued imports, oldest first.
SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM file_imports WHERE status = 'queued'

-- name: import_try_lock
-- The lock a running import holds for as long as its transaction lives (see the table).
SELECT pg_try_advisory_xact_lock(hashtextextended('dialerd.file_import', $1))

-- name: import_mark_running
-- A queued import ($1) is running; nothing if another worker took it first.
UPDATE file_imports SET status = 'running', started_at = now(), progress_at = now()
WHERE id = $1 AND status = 'queued'
RETURNING client_id, sheet, mapping, system_code, max_attempts, min_call_interval_h,
          campaign_id

-- name: import_progress
-- A running import's progress ($2 rows in the file, $3 of them done), seen by every process.
UPDATE file_imports SET rows_total = $2, rows_done = $3, progress_at = now()
WHERE id = $1 AND status = 'running'

-- name: import_finish
-- An import's result, written in the import's own transaction (clock_timestamp: now() would be
-- when that transaction began, before the job was marked running); the upload is dropped.
WITH dropped AS (DELETE FROM file_import_parts WHERE import_id = $1)
UPDATE file_imports
SET status = 'done', rows_done = rows_total, imported = $2, updated = $3, refused = $4,
    refused_file = $5, finished_at = clock_timestamp(), progress_at = clock_timestamp()
WHERE id = $1 AND status = 'running'
RETURNING id

-- name: import_fail
-- An import that failed ($2 why); nothing of it was written. Its upload is dropped.
WITH failed AS (
    UPDATE file_imports
    SET status = 'failed', error = $2, finished_at = clock_timestamp()
    WHERE id = $1 AND status IN ('queued', 'running')
    RETURNING id
)
DELETE FROM file_import_parts WHERE import_id IN (SELECT id FROM failed)

-- name: import_fail_abandoned
-- Fails the running imports whose lock is free: their transaction, and so all they wrote, is
-- gone with the dialerd that ran them. Their uploads are dropped. Returns their ids.
WITH failed AS (
    UPDATE file_imports
    SET status = 'failed', finished_at = now(),
        error = 'dialerd stopped during the import; nothing was imported, start it again'
    WHERE status = 'running'
      AND pg_try_advisory_xact_lock(hashtextextended('dialerd.file_import', id))
    RETURNING id
), dropped AS (
    DELETE FROM file_import_parts WHERE import_id IN (SELECT id FROM failed)
)
SELECT id FROM failed

-- name: import_drop_stale_uploads
-- Uploads never started within $1 hours are removed.
DELETE FROM file_imports
WHERE status = 'uploaded' AND created_at < now() - make_interval(hours => $1)

-- name: import_mapping_get
-- The column mapping campaign $1 remembers (header -> field), or NULL.
SELECT columns FROM import_mappings WHERE campaign_id = $1

-- name: import_mapping_save
-- Remembers a campaign's column mapping, merged over what it remembered.
INSERT INTO import_mappings (campaign_id, columns) VALUES ($1, $2)
ON CONFLICT (campaign_id) DO UPDATE
SET columns = import_mappings.columns || EXCLUDED.columns, updated_at = now()
