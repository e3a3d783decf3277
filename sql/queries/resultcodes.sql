-- name: result_codes
-- The result codes of campaign $1 (already checked to be the client's), in the order agents
-- are offered them.
SELECT * FROM campaign_result_codes WHERE campaign_id = $1 ORDER BY position, name, id

-- name: result_code
-- One result code, with its campaign's client (a code of another client's campaign is none).
SELECT r.* FROM campaign_result_codes r JOIN campaigns k ON k.id = r.campaign_id
WHERE r.id = $1 AND k.client_id = $2

-- name: result_codes_copy
-- Campaign $2 gets a copy of every result code of campaign $1; returns how many.
WITH copied AS (
    INSERT INTO campaign_result_codes (campaign_id, name, type_id, retry_minutes, position, active)
    SELECT $2, name, type_id, retry_minutes, position, active
    FROM campaign_result_codes WHERE campaign_id = $1
    RETURNING 1
)
SELECT count(*) FROM copied

-- name: result_code_insert
-- A new result code of campaign $1: name, type, retry minutes, position, active.
INSERT INTO campaign_result_codes (campaign_id, name, type_id, retry_minutes, position, active)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *

-- name: result_code_update
-- Replaces the settings of result code $1 of campaign $2; nothing if it is not that campaign's.
UPDATE campaign_result_codes
SET name = $3, type_id = $4, retry_minutes = $5, position = $6, active = $7, updated_at = now()
WHERE id = $1 AND campaign_id = $2
RETURNING *

-- name: result_code_delete
-- Deletes result code $1 of campaign $2; a code recorded for an attempt is kept by
-- contact_history's foreign key (foreign_key_violation).
DELETE FROM campaign_result_codes WHERE id = $1 AND campaign_id = $2 RETURNING id

-- name: attempt_lock_contact
-- Locks the contact of attempt $1 of client $2 until the result is written. The engine locks
-- a contact before it writes its attempts (contacts_for_close), so holding it first keeps the
-- two in one order, and attempt_for_result, run after it, reads the attempt as it is.
SELECT c.id FROM contacts c
JOIN contact_history h ON h.contact_id = c.id
JOIN campaigns k ON k.id = c.campaign_id
WHERE h.id = $1 AND k.client_id = $2
FOR UPDATE OF c

-- name: attempt_for_result
-- Attempt $1 of client $2 with its contact (locked by attempt_lock_contact): whether it is
-- closed, has a result, is its contact's last; the contact as the rules see it; and the
-- database's clock, the one the due condition reads.
SELECT h.id AS attempt_id, h.campaign_id, h.status, h.phone_number, h.phone_number_offset,
       h.result_code_id AS recorded_code_id,
       h.id = (SELECT max(l.id) FROM contact_history l WHERE l.contact_id = c.id) AS last,
       c.id, c.phone_numbers, c.number_tries, c.number_last_cause, c.number_end_reason,
       c.number_invalid, c.next_number, c.state, c.attempts, c.max_attempts,
       c.min_call_interval_h, now() AS now
FROM contact_history h
JOIN contacts c ON c.id = h.contact_id
JOIN campaigns k ON k.id = c.campaign_id
WHERE h.id = $1 AND k.client_id = $2

-- name: record_attempt_result
-- Writes result code $2 (of type $3) on attempt $1's history row, by the agent $4 (users.id:
-- the contacts API's UsersID) unless the row names one already.
UPDATE contact_history
SET result_code_id = $2, result_code_type_id = $3, users_id = coalesce(users_id, $4)
WHERE id = $1 AND result_code_id IS NULL

-- name: contact_after_result
-- Moves contact $1 on after a result (dialerd/dialer/results.py): $2 numbers' invalid flags,
-- $3 next number, $4 state, $5 next try (null: as it is), $6 its result code, $7 and $8 the
-- callback (time, agent; null: anyone).
UPDATE contacts
SET number_invalid = $2, next_number = $3, state = $4, dt_next_try = coalesce($5, dt_next_try),
    result_code_id = $6, callback_at = $7, callback_user_id = $8, updated_at = now()
WHERE id = $1

-- name: next_callback_for_agent
-- The callback of campaign $1 that agent $2 (users.id) promised and may make now: its time has
-- come (its own agent waits for no grace, so contact_callable, not contact_due), earliest
-- first. Once the agent has been signed out for the campaign's grace the dialer may claim it
-- too.
SELECT d.id, d.name, d.phone_numbers, d.next_number, d.callback_at
FROM contacts d
WHERE d.campaign_id = $1 AND d.callback_user_id = $2 AND d.callback_at IS NOT NULL
  AND contact_callable(d)
ORDER BY d.dt_next_try, d.id
LIMIT 1
