-- name: calltask_system_known
-- Whether a calling system (systemCode) is registered.
SELECT EXISTS (SELECT 1 FROM calling_systems WHERE code = $1)

-- name: calltask_info_field_ids
-- The ids of the defined info fields (properties.emprId).
SELECT coalesce(array_agg(id), '{}') FROM info_fields

-- name: calltask_import_lock
-- Serialises the imports into one campaign ($1) from one calling system ($2) (transaction lock).
SELECT pg_advisory_xact_lock($1, hashtext($2))

-- name: calltask_lock_parents
-- Holds campaign $1 and calling system $2 FOR KEY SHARE until the import commits, the lock a
-- foreign-key check would take (migration 0005); says whether each still exists.
SELECT EXISTS (SELECT 1 FROM campaigns WHERE id = $1 FOR KEY SHARE) AS campaign,
       EXISTS (SELECT 1 FROM calling_systems WHERE code = $2 FOR KEY SHARE) AS system

-- name: calltask_new_ids
-- $1 fresh contact ids, so that an import knows which task became which row.
-- The identity's sequence by name: a constant regclass makes nextval ten times faster here
-- than pg_get_serial_sequence('contacts', 'id') (0.05 s instead of 0.5 s for 100,000 ids).
SELECT array_agg(nextval('contacts_id_seq')) FROM generate_series(1, $1)

-- name: calltask_has_open_keys
-- Whether campaign $1 has any open call task of calling system $2 with an extCustId (if not, an
-- import need not look up its keys).
SELECT EXISTS (
    SELECT 1 FROM contacts
    WHERE campaign_id = $1 AND system_code = $2 AND ext_cust_id IS NOT NULL AND state = 'open'
)

-- name: calltask_staging
-- Where the call tasks of a chunk that may update open call tasks come in, by COPY as the new
-- ones do (CopyRows): as a dozen array parameters of 10,000 values each they took dialerd
-- longer to encode than Postgres to write. Dropped when the transaction ends.
CREATE TEMP TABLE IF NOT EXISTS calltask_staging (LIKE contacts INCLUDING DEFAULTS) ON COMMIT DROP

-- name: calltask_upsert
-- Writes the call tasks staged in calltask_staging, and empties it, in one statement. An
-- open call task with the same campaign + systemCode + extCustId is updated instead: its
-- attempts and the state of every number that kept its position stay; one that would not
-- change is left alone. Returns the ids and extCustIds of the rows inserted or updated, as two
-- arrays (an updated row has its old id).
WITH staged AS (
    DELETE FROM calltask_staging RETURNING *
), written AS (
INSERT INTO contacts (
    id, campaign_id, system_code, max_attempts, min_call_interval_h, name, user_data, ext_cust_id,
    system_lookup_code, properties, phone_numbers, number_tries, number_last_cause,
    number_end_reason, number_invalid)
OVERRIDING SYSTEM VALUE
SELECT id, campaign_id, system_code, max_attempts, min_call_interval_h, name, user_data,
       ext_cust_id, system_lookup_code, properties, phone_numbers, number_tries,
       number_last_cause, number_end_reason, number_invalid
FROM staged
ON CONFLICT (campaign_id, system_code, ext_cust_id)
    WHERE state = 'open' AND system_code IS NOT NULL AND ext_cust_id IS NOT NULL
DO UPDATE SET
    name = EXCLUDED.name,
    system_lookup_code = EXCLUDED.system_lookup_code,
    properties = EXCLUDED.properties,
    max_attempts = EXCLUDED.max_attempts,
    min_call_interval_h = EXCLUDED.min_call_interval_h,
    phone_numbers = EXCLUDED.phone_numbers,
    number_tries = number_state_merged(
        contacts.phone_numbers, EXCLUDED.phone_numbers, contacts.number_tries, EXCLUDED.number_tries),
    number_last_cause = number_state_merged(
        contacts.phone_numbers, EXCLUDED.phone_numbers, contacts.number_last_cause, EXCLUDED.number_last_cause),
    number_end_reason = number_state_merged(
        contacts.phone_numbers, EXCLUDED.phone_numbers, contacts.number_end_reason, EXCLUDED.number_end_reason),
    number_invalid = number_state_merged(
        contacts.phone_numbers, EXCLUDED.phone_numbers, contacts.number_invalid, EXCLUDED.number_invalid),
    next_number = CASE WHEN contacts.next_number < cardinality(EXCLUDED.phone_numbers)
                       THEN contacts.next_number ELSE 0 END,
    updated_at = now()
-- A plain re-send changes nothing: no new row version, no index entries (calltask_open_ids).
WHERE (contacts.name, contacts.system_lookup_code, contacts.properties, contacts.max_attempts,
       contacts.min_call_interval_h, contacts.phone_numbers)
      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.system_lookup_code, EXCLUDED.properties,
                        EXCLUDED.max_attempts, EXCLUDED.min_call_interval_h, EXCLUDED.phone_numbers)
RETURNING id, ext_cust_id
)
SELECT array_agg(id) AS ids, array_agg(ext_cust_id) AS ext_cust_ids FROM written

-- name: calltask_open_ids
-- The ids of the open call tasks of campaign $1 and system $2 with the extCustIds $3. One index
-- probe per key (LIMIT 1 keeps the planner from turning it into a join): right after a bulk
-- import the table's statistics are stale, and a join then scans the campaign once per key.
SELECT array_agg(c.id) AS ids, array_agg(c.ext_cust_id) AS ext_cust_ids
FROM unnest($3::text[]) AS k (ext_cust_id)
CROSS JOIN LATERAL (
    SELECT id, ext_cust_id FROM contacts
    WHERE campaign_id = $1 AND system_code = $2 AND ext_cust_id = k.ext_cust_id AND state = 'open'
    LIMIT 1
) AS c

-- name: calltask_job_insert
-- Stores an importAsync request ($1 id, $2 client, $3 returnImportedCallTasks, $4 body).
INSERT INTO import_jobs (id, client_id, return_tasks, request) VALUES ($1, $2, $3, $4)

-- name: calltask_job_claim
-- The oldest queued import job that no other worker holds, locked until the transaction ends,
-- and how often it was started before. NO KEY UPDATE: the start that another connection
-- records meanwhile (calltask_job_start) takes a key share of the row, which FOR UPDATE blocks.
SELECT id, client_id, return_tasks, request,
       (SELECT count(*) FROM import_job_starts s WHERE s.job_id = j.id) AS starts
FROM import_jobs j
WHERE status = 'queued'
ORDER BY created_at
LIMIT 1
FOR NO KEY UPDATE SKIP LOCKED

-- name: calltask_job_start
-- A worker starts importing job $1 (committed at once, on a connection of its own).
INSERT INTO import_job_starts (job_id) VALUES ($1)

-- name: calltask_job_finish
-- Records an import job's answer ($2 'done' or 'failed', $3 HTTP status, $4 body).
UPDATE import_jobs SET status = $2, http_status = $3, result = $4, finished_at = now()
WHERE id = $1

-- name: calltask_job_get
-- An import job of the client, for polling.
SELECT status, http_status, result FROM import_jobs WHERE id = $1 AND client_id = $2
