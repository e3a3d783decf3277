-- name: contacts_of_client
-- Every contact of the client's campaigns, by ID (read through a cursor: can be millions).
SELECT c.* FROM contacts c JOIN campaigns k ON k.id = c.campaign_id
WHERE k.client_id = $1
ORDER BY c.id

-- name: contacts_of_campaign
-- Every contact of one campaign (already checked to be the client's), by ID.
SELECT c.* FROM contacts c WHERE c.campaign_id = $1 ORDER BY c.id

-- name: contact_by_id
-- One contact of the client's campaigns.
SELECT c.* FROM contacts c JOIN campaigns k ON k.id = c.campaign_id
WHERE c.id = $1 AND k.client_id = $2

-- name: contacts_by_user_data
-- The client's contacts with a UserData, lowest ID first.
SELECT c.* FROM contacts c JOIN campaigns k ON k.id = c.campaign_id
WHERE c.user_data = $1 AND k.client_id = $2
ORDER BY c.id

-- name: contact_id_by_user_data
-- The contact an operation "by UserData" acts on: the lowest ID among the client's matches.
SELECT c.id FROM contacts c JOIN campaigns k ON k.id = c.campaign_id
WHERE c.user_data = $1 AND k.client_id = $2
ORDER BY c.id LIMIT 1

-- name: contact_duplicate
-- The contact an import with overwriteDuplicates overwrites: same campaign, same UserData.
SELECT c.id FROM contacts c WHERE c.campaign_id = $1 AND c.user_data = $2
ORDER BY c.id LIMIT 1

-- name: contact_lock_import_key
-- Serialises imports of one UserData into one campaign until commit, so that two concurrent
-- overwriteDuplicates imports cannot both miss the other and insert twice.
SELECT pg_advisory_xact_lock($1::integer, hashtext($2::text))

-- name: contact_for_update
-- A contact of the client, row-locked for a read-modify-write, with its campaign's region.
SELECT c.*, k.default_region AS campaign_region
FROM contacts c JOIN campaigns k ON k.id = c.campaign_id
WHERE c.id = $1 AND k.client_id = $2
FOR UPDATE OF c

-- name: contact_insert
-- A new contact, with fresh per-number state and the campaign's attempt rules.
INSERT INTO contacts (
    campaign_id, name, user_data, data, phone_numbers,
    number_tries, number_last_cause, number_end_reason, number_invalid,
    max_attempts, min_call_interval_h)
SELECT k.id, $2, $3, $4::jsonb, $5::text[],
       f.tries, f.last_cause, f.end_reason, f.invalid,
       k.max_attempts, k.min_call_interval_h
FROM campaigns k, fresh_number_state($5::text[]) AS f WHERE k.id = $1
FOR KEY SHARE OF k  -- what a foreign-key check would lock (migration 0005)
RETURNING *

-- name: contact_update
-- Writes a read-modify-write of a row locked by contact_for_update. $4 holds only the free
-- fields sent; a field sent as null is removed, so it reads as null again.
UPDATE contacts SET
    name = $2,
    user_data = $3,
    data = jsonb_strip_nulls(data || $4::jsonb),
    phone_numbers = $5,
    number_tries = $6,
    number_last_cause = $7,
    number_end_reason = $8,
    number_invalid = $9,
    next_number = $10,
    updated_at = now()
WHERE id = $1
RETURNING *

-- name: contacts_set_locked
-- Locks ($3 = true) or unlocks the contacts $1 of client $2 (one, or all a search matched);
-- the ids it changed. An attempt in progress goes on: the lock is for the next claim.
UPDATE contacts c SET locked = $3, updated_at = now()
FROM campaigns k
WHERE c.id = ANY($1::bigint[]) AND k.id = c.campaign_id AND k.client_id = $2
RETURNING c.id

-- name: contacts_reset
-- Makes the contacts $1 of client $2 as if just imported: counters, causes, state, the
-- recorded result code and the callback (their attempts' history rows keep theirs). Not the
-- lock. An attempt in progress goes on and, when it closes, counts as the first try after
-- the reset (its close reads the contact as it is then).
UPDATE contacts c SET
    attempts = 0,
    (number_tries, number_last_cause, number_end_reason, number_invalid) = (
        SELECT f.tries, f.last_cause, f.end_reason, f.invalid
        FROM fresh_number_state(c.phone_numbers) AS f),
    state = 'open',
    next_number = 0,
    dt_next_try = NULL,
    dt_last_try = NULL,
    last_connres = NULL,
    last_cause = NULL,
    last_result_mailbox = NULL,
    last_agent_end_reason = NULL,
    result_code_id = NULL,
    callback_at = NULL,
    callback_user_id = NULL,
    updated_at = now()
FROM campaigns k
WHERE c.id = ANY($1::bigint[]) AND k.id = c.campaign_id AND k.client_id = $2
RETURNING c.id

-- name: contacts_delete
-- Deletes the contacts $1 of client $2; their history goes with them (ON DELETE CASCADE).
-- An attempt in progress goes on; its close finds no contact and records nothing.
DELETE FROM contacts c USING campaigns k
WHERE c.id = ANY($1::bigint[]) AND k.id = c.campaign_id AND k.client_id = $2
RETURNING c.id

-- name: contact_history
-- The call attempts of one contact (already checked to be the client's), oldest first.
SELECT h.*, c.data ->> 'UserData2' AS user_data2, c.data ->> 'UserData3' AS user_data3
FROM contact_history h JOIN contacts c ON c.id = h.contact_id
WHERE h.contact_id = $1
ORDER BY h.id

-- name: contact_history_by_user_data
-- The call attempts of all the client's contacts with a UserData, by contact, oldest first.
SELECT h.*, c.data ->> 'UserData2' AS user_data2, c.data ->> 'UserData3' AS user_data3
FROM contact_history h
JOIN contacts c ON c.id = h.contact_id
JOIN campaigns k ON k.id = c.campaign_id
WHERE c.user_data = $1 AND k.client_id = $2
ORDER BY h.contact_id, h.id
