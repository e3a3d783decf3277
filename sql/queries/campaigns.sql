-- name: campaign_insert
-- Creates a campaign of a client; the id is the given one ($1, e.g. a CRM's existing callCode)
-- or the next of the identity. Settings in the order of dialerd.store.campaigns.COLUMNS.
INSERT INTO campaigns (
    id, client_id, name, queue, dial_string, caller_id, dial_mode, dial_ratio,
    max_lines_per_agent, abandon_limit, aggressiveness, max_calls_in_flight, max_originate_rate,
    ring_timeout_s, agent_timeout_s, wrapup_limit_s, amd_enabled, machine_action, window_start,
    window_end, window_days, timezone, default_region, max_attempts, min_call_interval_h,
    retry_minutes, callback_grace_s, abandon_after_care, call_hours_override, active)
VALUES (
    COALESCE($1::integer, nextval(pg_get_serial_sequence('campaigns', 'id'))), $2,
    $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
    $23, $24, $25, $26, $27, $28, $29, $30)
RETURNING id

-- name: campaign_sync_id_sequence
-- After a campaign was created with an explicit id: the identity continues above every id used.
SELECT setval(pg_get_serial_sequence('campaigns', 'id'), GREATEST(max(id), 1)) FROM campaigns

-- name: campaign_update
-- Replaces every setting of a client's campaign ($1 id, $2 client); nothing if not the client's.
UPDATE campaigns SET
    name = $3, queue = $4, dial_string = $5, caller_id = $6, dial_mode = $7, dial_ratio = $8,
    max_lines_per_agent = $9, abandon_limit = $10, aggressiveness = $11,
    max_calls_in_flight = $12, max_originate_rate = $13, ring_timeout_s = $14,
    agent_timeout_s = $15, wrapup_limit_s = $16, amd_enabled = $17, machine_action = $18,
    window_start = $19, window_end = $20, window_days = $21, timezone = $22,
    default_region = $23, max_attempts = $24, min_call_interval_h = $25, retry_minutes = $26,
    callback_grace_s = $27, abandon_after_care = $28, call_hours_override = $29, active = $30,
    updated_at = now()
WHERE id = $1 AND client_id = $2

-- name: campaign_lock
-- Locks a campaign of a client until the end of the transaction (read-modify-write).
SELECT FROM campaigns WHERE id = $1 AND client_id = $2 FOR UPDATE

-- name: campaigns
-- Campaign records (dialerd.domain.Campaign: its fields are these columns), by name: the
-- client $1's (NULL: every client's), only the one with ID $2, or name $3, where given.
SELECT id, client_id, name, queue, dial_string, caller_id, dial_mode, dial_ratio,
       max_lines_per_agent, abandon_limit, aggressiveness, max_calls_in_flight,
       max_originate_rate, ring_timeout_s, agent_timeout_s, wrapup_limit_s, amd_enabled,
       machine_action,
       window_start, window_end, window_days, timezone, default_region, max_attempts,
       min_call_interval_h, retry_minutes, callback_grace_s, abandon_after_care,
       call_hours_override, active, created_at, updated_at
FROM campaigns
WHERE ($1::integer IS NULL OR client_id = $1)
  AND ($2::integer IS NULL OR id = $2)
  AND ($3::text IS NULL OR name = $3)
ORDER BY name, id
